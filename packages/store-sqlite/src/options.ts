import type { Database } from 'better-sqlite3'

/** Limits that apply whichever way the database is given. */
export interface SqliteStoreLimits {
  /**
   * Most audit events kept. Every 1000 writes the oldest events past this number are deleted, so
   * the table holds at most this many plus 999. Audit events come from requests too
   * (unauthenticated failures), so the default keeps the file bounded; `null` keeps every event
   * (delete old rows with your own retention job). A positive integer or `null`. Default 1 000 000.
   */
  maxAuditEvents?: number | null
}

/**
 * Where the store keeps its data: a file it opens (and closes) itself, or a better-sqlite3
 * connection the caller owns; plus its {@link SqliteStoreLimits}.
 */
export type SqliteStoreOptions = (
  | {
      /**
       * Database file, created with its parent directory if missing; `':memory:'` for a private
       * in-memory database. The store turns WAL mode on and sets a 5000 ms busy timeout, so several
       * processes can share the file.
       */
      path: string
      database?: never
    }
  | {
      /**
       * An open better-sqlite3 connection. The store migrates its schema but leaves its lifecycle
       * and journal mode to the caller; it sets a 5000 ms busy timeout only if none is set.
       */
      database: Database
      path?: never
    }
) &
  SqliteStoreLimits

/** The limits after validation, with defaults applied. */
export interface ResolvedSqliteStoreLimits {
  maxAuditEvents: number | null
}

/** Checks the limits once, at construction; a bad one throws a `TypeError` naming it. */
export function resolveLimits(options: SqliteStoreLimits): ResolvedSqliteStoreLimits {
  const { maxAuditEvents = 1_000_000 } = options
  if (
    maxAuditEvents !== null &&
    (typeof maxAuditEvents !== 'number' ||
      !Number.isSafeInteger(maxAuditEvents) ||
      maxAuditEvents < 1)
  ) {
    throw new TypeError('"maxAuditEvents" must be a positive integer or null')
  }
  return { maxAuditEvents }
}
