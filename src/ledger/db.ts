// The ledger's database session: opening the SQLite file (read-write with migrations, or
// read-only), the pragmas, the transactions and the statement cache. The raw handle stays
// inside src/ledger: other layers go through the repositories (one module per table).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {OrxError} from '../errors.js';
import {LATEST_SCHEMA_VERSION, migrate, schemaVersion} from './migrations.js';

const LEDGER_DIR = '.orx';
const LEDGER_FILE = 'ledger.db';

/** The key repositories reach a ledger's session by; only src/ledger imports this module. */
export const SESSION: unique symbol = Symbol('orx.ledger.session');

/** What every repository function takes: the Ledger facade, or the session itself. */
export interface LedgerHandle {
  readonly [SESSION]: LedgerDb;
}

export function sessionOf(handle: LedgerHandle): LedgerDb {
  return handle[SESSION];
}

export interface OpenOptions {
  readonly?: boolean;
  /** false keeps bulk appends hashing on this thread (the benchmark compares the two) */
  hashPipeline?: boolean;
}

export class LedgerDb implements LedgerHandle {
  readonly path: string;
  readonly readonly: boolean;
  readonly hashPipeline: boolean;
  readonly sqlite: Database.Database;

  // better-sqlite3 does not cache statements, and preparing dominates small writes.
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly closers: Array<() => void> = [];

  private constructor(file: string, db: Database.Database, opts: OpenOptions) {
    this.path = file;
    this.sqlite = db;
    this.readonly = opts.readonly === true;
    this.hashPipeline = opts.hashPipeline !== false;
  }

  get [SESSION](): LedgerDb {
    return this;
  }

  static fileFor(workspaceDir: string): string {
    return path.resolve(workspaceDir, LEDGER_DIR, LEDGER_FILE);
  }

  static exists(workspaceDir: string): boolean {
    return fs.existsSync(LedgerDb.fileFor(workspaceDir));
  }

  static open(workspaceDir: string, opts: OpenOptions = {}): LedgerDb {
    const file = LedgerDb.fileFor(workspaceDir);
    const readonly = opts.readonly === true;
    let db: Database.Database | undefined;
    try {
      if (readonly) {
        if (!fs.existsSync(file)) {
          throw new OrxError({
            code: 'not_found',
            message: `No ledger at ${file}: nothing has been recorded in this workspace yet.`,
            actions: ['Run `orx apply` (or `orx init`) in this workspace first.'],
            data: {path: file},
          });
        }
      } else {
        fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
        // Created 0600 up front; SQLite gives the -wal/-shm files the same mode.
        fs.closeSync(fs.openSync(file, 'a', 0o600));
      }
      db = new Database(file, {readonly, fileMustExist: true});
      db.pragma('busy_timeout = 5000');
      // Read the header before writing anything: garbage fails here, a newer schema is left untouched.
      const version = schemaVersion(db);
      if (version > LATEST_SCHEMA_VERSION) throw newerSchema(file, version);
      if (!readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('foreign_keys = ON');
      if (readonly && version < LATEST_SCHEMA_VERSION) {
        throw new OrxError({
          code: 'ledger_outdated',
          message: `The ledger at ${file} has schema version ${version}; this orx needs ${LATEST_SCHEMA_VERSION} and cannot upgrade it read-only.`,
          actions: ['Run a command that writes to the ledger once (e.g. `orx plan`) to upgrade it, then retry.'],
          data: {path: file, version, supported: LATEST_SCHEMA_VERSION},
        });
      }
      if (!readonly) migrate(db);
      db.prepare('SELECT count(*) FROM meta').get(); // touches the schema: catches corruption past the header
      return new LedgerDb(file, db, opts);
    } catch (err) {
      try {
        db?.close();
      } catch {
        /* already failing; the original error is the one worth reporting */
      }
      throw openError(file, err);
    }
  }

  /** fn runs once when the session closes (a repository's worker thread, say). */
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  close(): void {
    for (const fn of this.closers.splice(0)) fn();
    if (this.sqlite.open) this.sqlite.close();
  }

  async backup(destPath: string): Promise<void> {
    await this.sqlite.backup(destPath);
  }

  schemaVersion(): number {
    return schemaVersion(this.sqlite);
  }

  /** A prepared statement, cached for the session's life: for SQL text that does not vary. */
  stmt(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) this.stmts.set(sql, (st = this.sqlite.prepare(sql)));
    return st;
  }

  /** A statement not cached: for SQL built per call (IN lists of varying length). */
  prepare(sql: string): Database.Statement {
    return this.sqlite.prepare(sql);
  }

  // IMMEDIATE: take the write lock before reading, so read-then-write never fails with
  // SQLITE_BUSY_SNAPSHOT when another process committed in between (busy_timeout covers the wait).
  /** One immediate transaction; nested calls become savepoints, so repositories can compose writes. */
  write<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }

  /** One read transaction: every query sees the same commit, writers are not blocked. */
  read<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).deferred();
  }
}

function newerSchema(file: string, version: number): OrxError {
  return new OrxError({
    code: 'ledger_newer',
    message: `The ledger at ${file} has schema version ${version}, newer than this orx understands (${LATEST_SCHEMA_VERSION}).`,
    actions: ['Upgrade orx to the version that last wrote this workspace (npm i -g orchestrix@latest), then retry.'],
    data: {path: file, version, supported: LATEST_SCHEMA_VERSION},
  });
}

function openError(file: string, err: unknown): OrxError {
  if (err instanceof OrxError) return err;
  const code = String((err as {code?: unknown}).code ?? '');
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new OrxError({
      code: 'ledger_corrupt',
      message: `The ledger at ${file} is damaged or not an orx ledger (${detail}).`,
      actions: [
        `Move it aside: mv "${file}" "${file}.damaged"`,
        'Restore the latest backup from .orx/backups, or start a fresh ledger and re-adopt running objects with `orx import`.',
      ],
      data: {path: file, sqlite_code: code},
      cause: err,
    });
  }
  const fsCode = ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR'].includes(code);
  if (fsCode || /^SQLITE_(CANTOPEN|PERM|READONLY|IOERR|AUTH)/.test(code)) {
    return new OrxError({
      code: 'ledger_unreadable',
      message: `Cannot open the ledger at ${file} (${detail}).`,
      actions: [`Check that ${path.dirname(file)} and its files exist and are readable and writable by this user.`],
      data: {path: file, error_code: code},
      cause: err,
    });
  }
  return new OrxError({
    code: 'ledger_open_failed',
    kind: 'external',
    message: `Opening the ledger at ${file} failed: ${detail}`,
    actions: ['Rerun with --debug; if the file is damaged, move it aside and restore a backup.'],
    data: {path: file, error_code: code},
    cause: err,
  });
}
