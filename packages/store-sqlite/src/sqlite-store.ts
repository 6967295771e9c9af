import type { ApimwStore } from '@apimw/core'
import { createApiKeyStore } from './api-key-store.js'
import { createAuditStore } from './audit-store.js'
import { createCounterStore } from './counter-store.js'
import { migrate } from './migrations.js'
import { openDatabase } from './open-database.js'
import type { SqliteStoreOptions } from './options.js'
import { resolveLimits } from './options.js'
import { createRefreshTokenStore } from './refresh-token-store.js'
import { createRevocationStore } from './revocation-store.js'
import { createSigningKeyStore } from './signing-key-store.js'

/** An {@link ApimwStore} on SQLite, whose `close()` is always there. */
export interface SqliteStore extends ApimwStore {
  /**
   * Closes the file the store opened (given a `path`); a `database` the caller passed stays open.
   * Idempotent. Call it once the server has stopped: the store cannot be used afterwards.
   */
  close(): Promise<void>
}

/**
 * An APIMW store on SQLite (better-sqlite3). Opening applies any pending schema migration. Given a
 * `path`, the store opens the file in WAL mode with a 5000 ms busy timeout, so several processes
 * (servers, the CLI) can share it, and `close()` closes it; given a `database`, the caller keeps
 * ownership and `close()` leaves it open. Every read-then-write step runs in a `BEGIN IMMEDIATE`
 * transaction, which makes the atomicity promised by the store interfaces hold across processes.
 *
 * @example
 * import { createApimw } from '@apimw/core'
 * import { createSqliteStore } from '@apimw/store-sqlite'
 *
 * const store = createSqliteStore({ path: '.apimw/apimw.db' })
 * const apimw = createApimw({ store })
 * // on shutdown, after the server has stopped: await apimw.close(); await store.close()
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  // Checked before anything is opened or created; openDatabase reports a missing options object.
  const { maxAuditEvents } = resolveLimits(
    typeof options === 'object' && options !== null ? options : {},
  )
  const { db, owned } = openDatabase(options)
  try {
    migrate(db)
    return {
      keys: createApiKeyStore(db),
      signingKeys: createSigningKeyStore(db),
      refreshTokens: createRefreshTokenStore(db),
      revocations: createRevocationStore(db),
      counters: createCounterStore(db),
      audit: createAuditStore(db, maxAuditEvents),
      async close() {
        if (owned && db.open) db.close()
      },
    }
  } catch (error) {
    if (owned) db.close()
    throw error
  }
}
