import type { Database } from 'better-sqlite3'

/**
 * Where the store keeps its data: a file it opens (and closes) itself, or a better-sqlite3
 * connection the caller owns.
 */
export type SqliteStoreOptions =
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
