import type { ApimwStore } from '@apimw/core'
import { createApiKeyStore } from './api-key-store.js'
import { createAuditStore } from './audit-store.js'
import { createCounterStore } from './counter-store.js'
import type { PostgresStoreOptions } from './options.js'
import { resolveOptions } from './options.js'
import { createRefreshTokenStore } from './refresh-token-store.js'
import { createRevocationStore } from './revocation-store.js'
import { createSigningKeyStore } from './signing-key-store.js'
import { createStoreContext } from './store-context.js'

/** An {@link ApimwStore} on Postgres, with the two methods that end its background work. */
export interface PostgresStore extends ApimwStore {
  /** Writes the buffered `keys.touch()` calls now. */
  flush(): Promise<void>
  /** Flushes and waits for background pruning. Does not end the pool, which the caller owns. */
  close(): Promise<void>
}

/**
 * A store on PostgreSQL, shared by every instance that uses the same database and `schema`.
 * Pending migrations run before the first query unless `migrate: false`. Atomic steps are single
 * conditional statements or short transactions; `keys.touch()` is buffered and written in batches.
 *
 * @example
 * import pg from 'pg'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const store = createPostgresStore({ pool, schema: 'apimw' })
 * const apimw = createApimw({ store })
 * // on shutdown: await store.close(); await pool.end()
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  const db = createStoreContext(resolveOptions(options))
  const keys = createApiKeyStore(db)
  const { touches, ...keyStore } = keys
  return {
    keys: keyStore,
    signingKeys: createSigningKeyStore(db),
    refreshTokens: createRefreshTokenStore(db),
    revocations: createRevocationStore(db),
    counters: createCounterStore(db),
    audit: createAuditStore(db),
    flush: () => touches.flush(),
    async close() {
      try {
        await touches.flush()
      } finally {
        await db.settle()
      }
    },
  }
}
