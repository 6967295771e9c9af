import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Database } from 'better-sqlite3'
import BetterSqlite3 from 'better-sqlite3'
import type { SqliteStoreOptions } from './options.js'

/** How long a connection waits for another one's write lock before it fails with `SQLITE_BUSY`. */
export const busyTimeoutMs = 5000

/** A connection and whether the store opened it (and so must close it). */
export interface OpenedDatabase {
  db: Database
  owned: boolean
}

/**
 * Checks the options once and returns the connection to use. A `path` is opened here: its parent
 * directory is created, WAL mode is turned on and the busy timeout set. A `database` is used as is,
 * apart from a busy timeout when it has none.
 */
export function openDatabase(options: SqliteStoreOptions): OpenedDatabase {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createSqliteStore() needs an options object with "path" or "database"')
  }
  const { path, database } = options
  if (database !== undefined) {
    if (path !== undefined) throw new TypeError('"path" and "database" cannot both be set')
    if (!isDatabase(database)) {
      throw new TypeError('"database" must be an open better-sqlite3 Database')
    }
    if (database.pragma('busy_timeout', { simple: true }) === 0) setBusyTimeout(database)
    return { db: database, owned: false }
  }
  if (typeof path !== 'string' || path === '') {
    throw new TypeError('"path" must be a non-empty string (a file path or ":memory:")')
  }
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true })
  const db = new BetterSqlite3(path, { timeout: busyTimeoutMs })
  try {
    setBusyTimeout(db)
    enableWal(db)
  } catch (error) {
    db.close()
    throw error
  }
  return { db, owned: true }
}

function setBusyTimeout(db: Database): void {
  db.pragma(`busy_timeout = ${busyTimeoutMs}`)
}

/**
 * Switches the file to WAL mode. The switch needs an exclusive lock and SQLite does not call the
 * busy handler for it: when several processes open a new file at once, the losers get
 * `SQLITE_BUSY` at once. They retry here, within the same busy timeout.
 */
function enableWal(db: Database): void {
  const deadline = performance.now() + busyTimeoutMs
  for (;;) {
    try {
      db.pragma('journal_mode = WAL')
      return
    } catch (error) {
      if (!isBusy(error) || performance.now() >= deadline) throw error
      sleep(5 + Math.random() * 20)
    }
  }
}

function isBusy(error: unknown): boolean {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('SQLITE_BUSY')
  )
}

/** Blocks the thread: only used while opening, when nothing else can run on this connection yet. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function isDatabase(value: unknown): value is Database {
  return (
    typeof value === 'object' &&
    value !== null &&
    'prepare' in value &&
    typeof value.prepare === 'function' &&
    'open' in value &&
    value.open === true
  )
}
