// A terminal for ink without one: keys are written in, frames are collected as text.
import {EventEmitter} from 'node:events';

export class FakeTTYIn extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  /** every setRawMode call, in order */
  rawModes: boolean[] = [];
  write(data: string): void {
    this.data = data;
    this.emit('readable');
  }
  read(): string | null {
    const d = this.data;
    this.data = null;
    return d;
  }
  setEncoding(): void {}
  setRawMode(on: boolean): void {
    this.rawModes.push(on);
  }
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export class FakeTTYOut extends EventEmitter {
  isTTY = true;
  rows = 40;
  out = '';
  constructor(public columns = 100) {
    super();
  }
  write(s: string): boolean {
    this.out += s;
    return true;
  }
}
