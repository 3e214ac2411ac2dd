// Bulk appends hash the chain on a second thread while this one writes rows to SQLite.
// The chain is sequential (each hash covers the previous one) but SQLite's insert is what
// the main thread spends its time on, so a worker that hashes row k+1 while row k is being
// inserted takes the hashing off the critical path. Rows are handed over in shared memory
// (no message per row): this thread only copies each row's strings as UTF-16 and their
// lengths; building the hash input and hashing it is the worker's. This thread waits on an
// Atomics counter only when it gets ahead of the worker. Anything unexpected (the worker is
// not up yet, died, or stalls) means the rows are hashed here instead: the pipeline is an
// optimisation, never a dependency.
import {Worker} from 'node:worker_threads';
import {sha256Hex} from '../util/canonical-json.js';
import {eventHashInput, isHexDigest, type EventRowFields} from './event-hash.js';

// ctrl slots
const READY = 0; // the worker sets 1 once it is waiting for jobs
const JOB = 1; // bumped by the main thread per job; -1 tells the worker to exit
const COUNT = 2; // rows in the current job, -1 while the main thread is still copying them
const DONE = 3; // rows of the current job hashed so far
const WAITING = 4; // 1 while the main thread sleeps on DONE: only then does the worker notify
const AVAIL = 5; // rows of the current job copied so far: the worker starts before the copy ends
const IDLE = 6; // the last job the worker finished: a new job's state is written only after it

// The worker is told about new rows this often while a job is being copied.
const AVAIL_EVERY = 32;

const DATA_BYTES = 8 * 1024 * 1024;
const MAX_ROWS = 16_384;
// per row: the UTF-16 lengths of run_id, step_id, ts, level, message, payload (-1: null)
const FIELDS = 6;

// CommonJS, evaluated in the worker: no file to locate, the same in dist/ and under tests.
// The hash input is built by the very function this thread uses (its source is inlined), so
// the two cannot drift apart.
const WORKER_SOURCE = `
const {workerData} = require('node:worker_threads');
const crypto = require('node:crypto');
const eventHashInput = ${eventHashInput.toString()};
const ctrl = new Int32Array(workerData.ctrl);
const firstSeq = new Float64Array(workerData.firstSeq);
const data = Buffer.from(workerData.data);
const starts = new Int32Array(workerData.starts);
const lengths = new Int32Array(workerData.lengths);
const out = Buffer.from(workerData.out);
const digest = crypto.hash ? (v) => crypto.hash('sha256', v, 'hex') : (v) => crypto.createHash('sha256').update(v, 'utf8').digest('hex');
const NAMES = ['run_id', 'step_id', 'ts', 'level', 'message', 'payload'];
let seen = 0;
Atomics.store(ctrl, ${READY}, 1);
Atomics.notify(ctrl, ${READY});
for (;;) {
  Atomics.wait(ctrl, ${JOB}, seen);
  const job = Atomics.load(ctrl, ${JOB});
  if (job < 0) break;
  seen = job;
  let prev = out.toString('latin1', 0, 64);
  for (let i = 0; ; i++) {
    // wait for row i to be copied; COUNT is set before the last AVAIL, so it is final once seen
    while (i >= Atomics.load(ctrl, ${AVAIL})) {
      const count = Atomics.load(ctrl, ${COUNT});
      if (count >= 0 && i >= count) break;
      Atomics.wait(ctrl, ${AVAIL}, i, 1);
    }
    const count = Atomics.load(ctrl, ${COUNT});
    if (count >= 0 && i >= count) break;
    const text = data.toString('utf16le', starts[i], starts[i + 1]);
    const row = {seq: firstSeq[0] + i};
    let at = 0;
    for (let f = 0; f < ${FIELDS}; f++) {
      const len = lengths[i * ${FIELDS} + f];
      row[NAMES[f]] = len < 0 ? null : text.slice(at, at + len);
      if (len > 0) at += len;
    }
    prev = digest(eventHashInput(prev, row));
    out.write(prev, (i + 1) * 64, 'latin1');
    Atomics.store(ctrl, ${DONE}, i + 1);
    if (Atomics.load(ctrl, ${WAITING}) === 1) Atomics.notify(ctrl, ${DONE});
  }
  Atomics.store(ctrl, ${IDLE}, job);
  Atomics.notify(ctrl, ${IDLE});
}
`;

export interface HashPipelineOptions {
  /** how long to wait for the worker on one row before hashing here instead */
  stallMs?: number;
}

export class HashPipeline {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(8 * Int32Array.BYTES_PER_ELEMENT));
  private readonly firstSeq = new Float64Array(new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT));
  private readonly data = Buffer.from(new SharedArrayBuffer(DATA_BYTES));
  private readonly starts = new Int32Array(new SharedArrayBuffer((MAX_ROWS + 1) * Int32Array.BYTES_PER_ELEMENT));
  private readonly lengths = new Int32Array(new SharedArrayBuffer(MAX_ROWS * FIELDS * Int32Array.BYTES_PER_ELEMENT));
  // slot 0: the hash the job chains onto; slot i + 1: the hash of row i
  private readonly out = Buffer.from(new SharedArrayBuffer((MAX_ROWS + 1) * 64));
  private readonly worker: Worker;
  private readonly stallMs: number;
  private broken = false;
  // the job being consumed: its rows, and the hash of the last row handed out
  private rows: readonly EventRowFields[] = [];
  private first = 0;
  private lastHash = '';
  /** jobs the worker hashed, and rows that fell back to this thread (for tests and the bench) */
  readonly stats = {jobs: 0, fallbackRows: 0};

  constructor(opts: HashPipelineOptions = {}) {
    this.stallMs = opts.stallMs ?? 2000;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        ctrl: this.ctrl.buffer,
        firstSeq: this.firstSeq.buffer,
        data: this.data.buffer,
        starts: this.starts.buffer,
        lengths: this.lengths.buffer,
        out: this.out.buffer,
      },
    });
    // a CLI must not stay alive for an idle hashing thread
    this.worker.unref();
    this.worker.on('error', () => this.markBroken());
    this.worker.on('exit', () => this.markBroken());
  }

  /** Ready to take a job: the worker is up and has not failed. */
  get ready(): boolean {
    return !this.broken && Atomics.load(this.ctrl, READY) === 1;
  }

  /** Resolves once the worker is waiting for jobs (tests and the bench use it to start warm). */
  whenReady(timeoutMs = 5000): boolean {
    if (!this.broken && Atomics.load(this.ctrl, READY) !== 1) Atomics.wait(this.ctrl, READY, 0, timeoutMs);
    return this.ready;
  }

  /**
   * Hands rows[from..] (as many as fit; their seqs consecutive) to the worker, chained onto
   * prevHash; returns how many it took: 0 means hash them here (not ready, prevHash not a
   * digest, or a row too large).
   */
  submit(rows: readonly EventRowFields[], from: number, prevHash: string): number {
    if (!this.ready || !isHexDigest(prevHash) || from >= rows.length || !this.awaitIdle()) return 0;
    const lengths = this.lengths;
    // the job starts now, so the worker wakes while the rows are being copied
    this.firstSeq[0] = rows[from].seq;
    this.out.write(prevHash, 0, 'latin1');
    this.rows = rows;
    this.first = from;
    this.lastHash = prevHash;
    Atomics.store(this.ctrl, DONE, 0);
    Atomics.store(this.ctrl, AVAIL, 0);
    Atomics.store(this.ctrl, COUNT, -1);
    Atomics.add(this.ctrl, JOB, 1);
    Atomics.notify(this.ctrl, JOB);
    let off = 0;
    let n = 0;
    try {
      while (from + n < rows.length && n < MAX_ROWS) {
        const r = rows[from + n];
        // one UTF-16 copy of the six strings back to back: two bytes a unit, lone surrogates kept
        const text = (r.run_id ?? '') + (r.step_id ?? '') + r.ts + r.level + r.message + (r.payload ?? '');
        if (off + 2 * text.length > DATA_BYTES) break;
        const at = n * FIELDS;
        lengths[at] = r.run_id === null ? -1 : r.run_id.length;
        lengths[at + 1] = r.step_id === null ? -1 : r.step_id.length;
        lengths[at + 2] = r.ts.length;
        lengths[at + 3] = r.level.length;
        lengths[at + 4] = r.message.length;
        lengths[at + 5] = r.payload === null ? -1 : r.payload.length;
        this.starts[n] = off;
        off += this.data.write(text, off, 'utf16le');
        n++;
        if (n % AVAIL_EVERY === 0) {
          this.starts[n] = off;
          Atomics.store(this.ctrl, AVAIL, n);
          Atomics.notify(this.ctrl, AVAIL);
        }
      }
    } finally {
      // whatever happened, the worker learns where the job ends
      this.starts[n] = off;
      Atomics.store(this.ctrl, COUNT, n);
      Atomics.store(this.ctrl, AVAIL, n);
      Atomics.notify(this.ctrl, AVAIL);
    }
    if (n > 0) this.stats.jobs++;
    return n;
  }

  /** The hash of row i of the job just submitted; rows must be asked for in order. */
  hash(i: number): string {
    if (!this.broken && this.awaitRow(i)) {
      this.lastHash = this.out.toString('latin1', (i + 1) * 64, (i + 2) * 64);
      return this.lastHash;
    }
    this.stats.fallbackRows++;
    this.lastHash = sha256Hex(eventHashInput(this.lastHash, this.rows[this.first + i]));
    return this.lastHash;
  }

  close(): void {
    Atomics.store(this.ctrl, JOB, -1);
    Atomics.notify(this.ctrl, JOB);
    this.markBroken();
    void this.worker.terminate();
  }

  // The worker is done with the previous job (normally long since): only then may its state be
  // overwritten, or a worker that was preempted at the end of a job could read the next one's.
  private awaitIdle(): boolean {
    const job = Atomics.load(this.ctrl, JOB);
    const deadline = Date.now() + this.stallMs;
    for (let idle = Atomics.load(this.ctrl, IDLE); idle !== job; idle = Atomics.load(this.ctrl, IDLE)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.broken) {
        this.markBroken();
        return false;
      }
      Atomics.wait(this.ctrl, IDLE, idle, left);
    }
    return true;
  }

  private awaitRow(i: number): boolean {
    let done = Atomics.load(this.ctrl, DONE);
    if (done > i) return true;
    const deadline = Date.now() + this.stallMs;
    Atomics.store(this.ctrl, WAITING, 1);
    try {
      while (done <= i) {
        const left = deadline - Date.now();
        if (left <= 0 || this.broken) {
          this.markBroken();
          return false;
        }
        Atomics.wait(this.ctrl, DONE, done, left);
        done = Atomics.load(this.ctrl, DONE);
      }
      return true;
    } finally {
      Atomics.store(this.ctrl, WAITING, 0);
    }
  }

  // A worker that failed or stalled is never trusted with another job: the rest of the
  // ledger's life hashes on this thread.
  private markBroken(): void {
    if (this.broken) return;
    this.broken = true;
    Atomics.store(this.ctrl, JOB, -1);
    Atomics.notify(this.ctrl, JOB);
  }
}
