import type { ApimwStore } from '@apimw/core'
import { createApiKeyStore } from './api-key-store.js'
import { createAuditStore } from './audit-store.js'
import { createCounterStore } from './counter-store.js'
import { migrate } from './migrations.js'
import { openDatabase } from './open-database.js'
import type { SqliteStoreOptions } from './options.js'
import { createRefreshTokenStore } from './refresh-token-store.js'
import { createRevocationStore } from './revocation-store.js'
import { createSigningKeyStore } from './signing-key-store.js'

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
 * process.on('SIGTERM', () => void store.close?.())
 */
export function createSqliteStore(options: SqliteStoreOptions): ApimwStore {
  const { db, owned } = openDatabase(options)
  try {
    migrate(db)
  } catch (error) {
    if (owned) db.close()
    throw error
  }
  return {
    keys: createApiKeyStore(db),
    signingKeys: createSigningKeyStore(db),
    refreshTokens: createRefreshTokenStore(db),
    revocations: createRevocationStore(db),
    counters: createCounterStore(db),
    audit: createAuditStore(db),
    async close() {
      if (owned && db.open) db.close()
    },
  }
}
