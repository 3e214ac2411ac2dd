// The engine's archive stream (GET /containers/{id}/archive), read with as little main-thread
// work as possible.
import net from 'node:net';
import type Dockerode from 'dockerode';

// ---------------------------------------------------------------------------------------
// the archive stream
//
// Through dockerode, the engine's stream costs ~1 ms of main-thread CPU per MB (the
// http client's buffers, readable-stream copies and the GC behind them): as much as
// hashing it. On a local socket, a plain HTTP/1.1 GET read into one reused buffer
// (net's `onread`) costs a tenth of that. Other transports (tcp, TLS, ssh) go through
// dockerode.
// ---------------------------------------------------------------------------------------

/** Bytes pushed to `onData`, which returns false to pause until resume(). Slices are only valid during the call. */
export interface ByteSource {
  run(onData: (chunk: Buffer) => boolean): Promise<void>;
  resume(): void;
  destroy(err: Error): void;
}

interface ModemInternals {
  socketPath?: unknown;
  version?: string;
  getSocketPath?: () => Promise<string> | undefined;
}

const READ_BUFFER = 256 * 1024;

/** The engine's error shape, so engineMessage() and statusCode() read it like dockerode's. */
class EngineHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: {message?: string} | undefined,
  ) {
    super(json?.message ?? `HTTP ${statusCode}`);
  }
}

/** Decodes Transfer-Encoding: chunked, calling emit with slices of the input. */
class ChunkedDecoder {
  private state: 'size' | 'ext' | 'data' | 'data-end' | 'trailer' | 'trailer-line' | 'done' = 'size';
  private size = 0;
  private digits = 0;

  get done(): boolean {
    return this.state === 'done';
  }

  feed(b: Buffer, start: number, end: number, emit: (slice: Buffer) => boolean): boolean {
    let go = true;
    let i = start;
    while (i < end) {
      if (this.state === 'data') {
        const n = Math.min(this.size, end - i);
        if (!emit(b.subarray(i, i + n))) go = false;
        this.size -= n;
        i += n;
        if (this.size === 0) this.state = 'data-end';
        continue;
      }
      const c = b[i++];
      if (this.state === 'size') {
        const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
        if (v >= 0) {
          if (++this.digits > 12) throw new Error('chunk size too large');
          this.size = this.size * 16 + v;
        } else if (c === 0x0a) this.endSizeLine();
        else if (c === 0x0d || c === 0x3b || c === 0x20 || c === 0x09) this.state = 'ext';
        else throw new Error('bad chunk size');
      } else if (this.state === 'ext') {
        if (c === 0x0a) this.endSizeLine();
      } else if (this.state === 'data-end') {
        if (c === 0x0a) this.state = 'size';
        else if (c !== 0x0d) throw new Error('bad chunk end');
      } else if (this.state === 'trailer') {
        if (c === 0x0a) this.state = 'done';
        else if (c !== 0x0d) this.state = 'trailer-line';
      } else if (this.state === 'trailer-line') {
        if (c === 0x0a) this.state = 'trailer';
      } else return go;
    }
    return go;
  }

  private endSizeLine(): void {
    if (this.digits === 0) throw new Error('bad chunk size');
    this.state = this.size === 0 ? 'trailer' : 'data';
    this.digits = 0;
  }
}

interface ResponseHead {
  status: number;
  framing: 'chunked' | 'length' | 'close';
  length: number;
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? NaN);
  if (!Number.isInteger(status)) throw new Error(`bad status line "${lines[0].slice(0, 80)}"`);
  const head: ResponseHead = {status, framing: 'close', length: 0};
  for (const line of lines.slice(1)) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    const key = m?.[1].toLowerCase();
    if (key === 'transfer-encoding' && /chunked/i.test(m![2])) head.framing = 'chunked';
    else if (key === 'content-length' && head.framing !== 'chunked') {
      head.framing = 'length';
      head.length = Number(m![2]);
    }
  }
  return head;
}

/** GET over the engine's local socket, the body read into one reused buffer. */
class SocketGet implements ByteSource {
  private sock: net.Socket | undefined;
  private failure: Error | undefined;
  private headBytes: Buffer | undefined = Buffer.alloc(0);
  private head: ResponseHead = {status: 0, framing: 'close', length: 0};
  private readonly chunked = new ChunkedDecoder();
  private readonly errorBody: Buffer[] = [];
  private onData: (chunk: Buffer) => boolean = () => true;

  constructor(
    private readonly socketPath: string,
    private readonly path: string,
  ) {}

  run(onData: (chunk: Buffer) => boolean): Promise<void> {
    this.onData = onData;
    return new Promise<void>((resolve, reject) => {
      const buffer = Buffer.allocUnsafe(READ_BUFFER);
      const sock = net.connect({path: this.socketPath, onread: {buffer, callback: (n) => this.onRead(n, buffer)}});
      this.sock = sock;
      sock.on('connect', () => sock.write(`GET ${this.path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: orchestrix\r\nConnection: close\r\n\r\n`));
      sock.on('error', (err) => reject(this.failure ?? err));
      sock.on('close', () => {
        const err = this.outcome();
        if (err) reject(err);
        else resolve();
      });
    });
  }

  resume(): void {
    if (this.sock && !this.sock.destroyed) this.sock.resume();
  }

  destroy(err: Error): void {
    this.failure ??= err;
    this.sock?.destroy();
  }

  private get complete(): boolean {
    return this.head.framing === 'chunked' ? this.chunked.done : this.head.framing === 'length' ? this.head.length === 0 : false;
  }

  private onRead(n: number, buf: Buffer): boolean {
    try {
      let go: boolean;
      if (this.headBytes) {
        this.headBytes = Buffer.concat([this.headBytes, buf.subarray(0, n)]);
        const at = this.headBytes.indexOf('\r\n\r\n');
        if (at < 0) {
          if (this.headBytes.length > 64 * 1024) throw new Error('response header too large');
          return true;
        }
        this.head = parseHead(this.headBytes.toString('latin1', 0, at));
        const rest = this.headBytes.subarray(at + 4);
        this.headBytes = undefined;
        go = this.body(rest, 0, rest.length);
      } else go = this.body(buf, 0, n);
      // the engine may keep the connection open after the last chunk
      if (this.complete) this.sock?.destroy();
      return go;
    } catch (err) {
      this.destroy(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  private body(b: Buffer, start: number, end: number): boolean {
    // a non-200 answer's body is the engine's JSON error
    const deliver = (slice: Buffer) => (this.head.status === 200 ? this.onData(slice) : (this.errorBody.push(Buffer.from(slice)), true));
    if (this.head.framing === 'chunked') return this.chunked.feed(b, start, end, deliver);
    if (this.head.framing === 'length') {
      end = Math.min(end, start + this.head.length);
      this.head.length -= end - start;
    }
    return end > start ? deliver(b.subarray(start, end)) : true;
  }

  /** Why the stream failed, once the socket is closed; undefined if it did not. */
  private outcome(): Error | undefined {
    if (this.failure) return this.failure;
    if (this.headBytes) return new Error('the engine closed the connection before answering');
    if (this.head.status !== 200) {
      const text = Buffer.concat(this.errorBody).toString('utf8');
      let json: {message?: string};
      try {
        json = JSON.parse(text) as {message?: string};
      } catch {
        json = {message: text.trim() || undefined};
      }
      return new EngineHttpError(this.head.status, json);
    }
    if (this.head.framing !== 'close' && !this.complete) return new Error('the engine stream ended early');
    return undefined;
  }
}

class DockerodeGet implements ByteSource {
  private stream: NodeJS.ReadableStream | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly container: Dockerode.Container,
    private readonly path: string,
  ) {}

  async run(onData: (chunk: Buffer) => boolean): Promise<void> {
    const s = await this.container.getArchive({path: this.path});
    this.stream = s;
    if (this.failure) {
      this.destroy(this.failure);
      throw this.failure;
    }
    await new Promise<void>((resolve, reject) => {
      s.on('data', (chunk: Buffer) => {
        try {
          if (!onData(chunk)) s.pause();
        } catch (err) {
          this.destroy(err instanceof Error ? err : new Error(String(err)));
        }
      });
      s.on('end', resolve);
      s.on('error', (err: Error) => reject(this.failure ?? err));
      s.on('close', () => (this.failure ? reject(this.failure) : undefined));
    });
  }

  resume(): void {
    this.stream?.resume();
  }

  destroy(err: Error): void {
    this.failure ??= err;
    (this.stream as {destroy?: () => void} | undefined)?.destroy?.();
  }
}

export async function archiveSource(docker: Dockerode, c: Dockerode.Container, path: string): Promise<ByteSource> {
  const modem = docker.modem as unknown as ModemInternals;
  if (modem.socketPath && typeof modem.getSocketPath === 'function') {
    const socketPath = await modem.getSocketPath();
    if (socketPath) {
      const prefix = modem.version ? `/${modem.version}` : '';
      return new SocketGet(socketPath, `${prefix}/containers/${c.id}/archive?path=${encodeURIComponent(path)}`);
    }
  }
  return new DockerodeGet(c, path);
}
