import type { ApimwStore } from '@apimw/core'
import { createApiKeyStore } from './api-key-store.js'
import { createAuditStore } from './audit-store.js'
import { changeChannel, createPgChangeFeed } from './change-feed.js'
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
  /**
   * Flushes, closes the change feed's listening connection and waits for background pruning.
   * Does not end the pool, which the caller owns: call it before `pool.end()`.
   */
  close(): Promise<void>
}

/**
 * A store on PostgreSQL, shared by every instance that uses the same database and `schema`.
 * Pending migrations run before the first query unless `migrate: false`. Atomic steps are single
 * conditional statements or short transactions; `keys.touch()` is buffered and written in batches.
 * Every call fails after `queryTimeoutMs` instead of hanging (the request answers 503). Changes
 * reach the other instances with `LISTEN`/`NOTIFY`.
 *
 * @example
 * import pg from 'pg'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const store = createPostgresStore({ pool, schema: 'apimw' })
 * const apimw = createApimw({ store })
 * // on shutdown: await apimw.close(); await store.close(); await pool.end()
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  const resolved = resolveOptions(options)
  const db = createStoreContext(resolved)
  const keys = createApiKeyStore(db)
  const { touches, ...keyStore } = keys
  const changes = resolved.changes
    ? createPgChangeFeed({
        pool: resolved.pool,
        channel: changeChannel(resolved.schema),
        notify: (channel, payload) => db.query('SELECT pg_notify($1, $2)', [channel, payload]),
        onError: resolved.onError,
        timeoutMs: resolved.queryTimeoutMs,
      })
    : undefined
  return {
    keys: keyStore,
    signingKeys: createSigningKeyStore(db),
    refreshTokens: createRefreshTokenStore(db),
    revocations: createRevocationStore(db),
    counters: createCounterStore(db),
    audit: createAuditStore(db),
    ...(changes ? { changes: { publish: changes.publish, subscribe: changes.subscribe } } : {}),
    flush: () => touches.flush(),
    async close() {
      try {
        await changes?.close()
        await touches.flush()
      } finally {
        await db.settle()
      }
    },
  }
}
