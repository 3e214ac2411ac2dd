// The ledger's own SQLite handle, for tests that tamper with rows or read connection pragmas:
// what src/ledger keeps to itself.
import type Database from 'better-sqlite3';
import {sessionOf} from '../../src/ledger/db.js';
import type {Ledger} from '../../src/ledger/ledger.js';

export const rawSqlite = (l: Ledger): Database.Database => sessionOf(l).sqlite;
