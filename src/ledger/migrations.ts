import {randomUUID} from 'node:crypto';
import type Database from 'better-sqlite3';

interface Migration {
  version: number;
  description: string;
  up(db: Database.Database): void;
}

/**
 * Append-only: a released migration is never edited, because ledgers in the field have
 * already run it. `version` must equal its position + 1 (checked below).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'initial schema: meta, resources, runs, steps, events, locks, approvals, backups',
    up(db) {
      db.exec(`
        CREATE TABLE meta (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        );
        CREATE TABLE resources (
          address             TEXT PRIMARY KEY,
          kind                TEXT NOT NULL,
          attributes          TEXT NOT NULL,
          object_id           TEXT,
          secret_fingerprints TEXT NOT NULL DEFAULT '{}',
          serial              INTEGER NOT NULL,
          updated_at          TEXT NOT NULL
        );
        CREATE TABLE runs (
          id          TEXT PRIMARY KEY,
          kind        TEXT NOT NULL,
          mode        TEXT NOT NULL CHECK (mode IN ('PLAN', 'APPLY')),
          status      TEXT NOT NULL,
          autonomy    INTEGER NOT NULL,
          actor       TEXT NOT NULL,
          reason      TEXT,
          plan_id     TEXT,
          plan_digest TEXT,
          started_at  TEXT NOT NULL,
          finished_at TEXT,
          summary     TEXT
        );
        CREATE TABLE steps (
          id              TEXT PRIMARY KEY,
          run_id          TEXT NOT NULL REFERENCES runs(id),
          address         TEXT NOT NULL,
          action          TEXT NOT NULL,
          status          TEXT NOT NULL,
          attempt         INTEGER NOT NULL DEFAULT 1,
          idempotency_key TEXT NOT NULL UNIQUE,
          error           TEXT,
          outcome         TEXT,
          started_at      TEXT NOT NULL,
          finished_at     TEXT
        );
        CREATE INDEX steps_run_id ON steps(run_id);
        -- No foreign keys on events: the audit log must never refuse a row.
        CREATE TABLE events (
          seq       INTEGER PRIMARY KEY AUTOINCREMENT,
          run_id    TEXT,
          step_id   TEXT,
          ts        TEXT NOT NULL,
          level     TEXT NOT NULL,
          message   TEXT NOT NULL,
          payload   TEXT,
          prev_hash TEXT NOT NULL,
          hash      TEXT NOT NULL
        );
        CREATE INDEX events_run_id ON events(run_id);
        CREATE TABLE locks (
          name    TEXT PRIMARY KEY,
          id      TEXT NOT NULL UNIQUE,
          pid     INTEGER NOT NULL,
          host    TEXT NOT NULL,
          command TEXT NOT NULL,
          since   TEXT NOT NULL
        );
        CREATE TABLE approvals (
          id       TEXT PRIMARY KEY,
          run_id   TEXT REFERENCES runs(id),
          step_id  TEXT,
          decision TEXT NOT NULL,
          actor    TEXT NOT NULL,
          reason   TEXT,
          ts       TEXT NOT NULL
        );
        CREATE INDEX approvals_run_id ON approvals(run_id);
        CREATE TABLE backups (
          id          TEXT PRIMARY KEY,
          path        TEXT NOT NULL,
          created_at  TEXT NOT NULL,
          size        INTEGER,
          verified_at TEXT,
          manifest    TEXT
        );
      `);
      const put = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
      put.run('lineage', randomUUID());
      put.run('serial', '0');
    },
  },
  {
    version: 2,
    description: 'forgotten objects: `state rm` leaves the object running, and refresh must not call it an orphan',
    up(db) {
      db.exec(`
        CREATE TABLE forgotten (
          object_id TEXT PRIMARY KEY,
          address   TEXT NOT NULL,
          reason    TEXT,
          ts        TEXT NOT NULL
        );
      `);
    },
  },
  {
    version: 3,
    description: 'safety envelope: approvals bound to a plan digest and an address; step categories for rate limits',
    up(db) {
      db.exec(`
        ALTER TABLE approvals ADD COLUMN plan_id TEXT;
        ALTER TABLE approvals ADD COLUMN plan_digest TEXT;
        ALTER TABLE approvals ADD COLUMN address TEXT;
        CREATE INDEX approvals_plan_digest ON approvals(plan_digest);
        ALTER TABLE steps ADD COLUMN category TEXT;
        CREATE INDEX steps_finished_at ON steps(finished_at);
        CREATE INDEX runs_started_at ON runs(started_at);
      `);
    },
  },
  {
    version: 4,
    description:
      'contract snapshots: the canonical JSON of each applied configuration, content-addressed, with its parent and policy digest',
    up(db) {
      db.exec(`
        CREATE TABLE snapshots (
          id            TEXT PRIMARY KEY,  -- sha256 hex of the canonical JSON in config
          parent        TEXT,              -- the snapshot in force before this one was first applied
          run_id        TEXT,              -- the run that first applied it
          config        TEXT NOT NULL,     -- canonical JSON of the applied configuration
          policy_digest TEXT,
          created_at    TEXT NOT NULL
        );
        CREATE INDEX snapshots_created_at ON snapshots(created_at);
        CREATE INDEX snapshots_run_id ON snapshots(run_id);
      `);
    },
  },
  {
    version: 5,
    // Recorded the first seq of a second event hash format; the first format never shipped in
    // a release, so there is nothing to record. The version stays so that numbering holds.
    description: 'none (was: where event hash format 2 began)',
    up() {},
  },
  {
    version: 6,
    description: 'agent identity tokens: the jti and claims of each issued token (never the token itself) and its revocation',
    up(db) {
      // IF NOT EXISTS: a ledger whose user_version was set back (tests, hand repair) re-runs this
      db.exec(`
        CREATE TABLE IF NOT EXISTS tokens (
          jti        TEXT PRIMARY KEY,
          address    TEXT NOT NULL,     -- the agent it was issued to (the JWT's sub)
          workspace  TEXT NOT NULL,     -- iss
          audience   TEXT NOT NULL,     -- aud
          scopes     TEXT NOT NULL,     -- JSON array of scope strings
          iat        INTEGER NOT NULL,  -- seconds since the epoch, as in the JWT
          exp        INTEGER NOT NULL,
          run_id     TEXT,              -- the run that issued it, if any
          issued_at  TEXT NOT NULL,     -- when it was recorded
          revoked_at TEXT,
          revoked_by TEXT,
          reason     TEXT
        );
        CREATE INDEX IF NOT EXISTS tokens_address ON tokens(address, revoked_at);
      `);
    },
  },
  {
    version: 7,
    description: 'signed checkpoints of the chain head: each run ends with one, so a recomputed or truncated chain is detected',
    up(db) {
      // Outside the hash chain on purpose: a checkpoint that appended an event would move the
      // head it signs. AUTOINCREMENT, so checkpoints deleted from the end are noticed too.
      db.exec(`
        CREATE TABLE IF NOT EXISTS checkpoints (
          id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- signed: a gap means checkpoints were deleted
          lineage         TEXT NOT NULL,
          seq             INTEGER NOT NULL,  -- the chain head signed: its seq and hash
          hash            TEXT NOT NULL,
          ts              TEXT NOT NULL,
          reason          TEXT NOT NULL,     -- what ended: apply, approve, halt, resume, ...
          run_id          TEXT,
          key_fingerprint TEXT NOT NULL,     -- who signed (for people; trust comes from the key, not this)
          bundle          TEXT NOT NULL      -- the Sigstore bundle over the canonical JSON of the signed fields
        );
      `);
    },
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

MIGRATIONS.forEach((m, i) => {
  if (m.version !== i + 1) throw new Error(`migration at index ${i} has version ${m.version}`);
});

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', {simple: true}) as number;
}

/**
 * Brings the schema up to date. The version is re-read inside each IMMEDIATE transaction
 * because another process may have opened the same fresh ledger and migrated it first.
 */
export function migrate(db: Database.Database): number {
  for (const m of MIGRATIONS) {
    if (schemaVersion(db) >= m.version) continue;
    db.transaction(() => {
      if (schemaVersion(db) >= m.version) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return schemaVersion(db);
}
