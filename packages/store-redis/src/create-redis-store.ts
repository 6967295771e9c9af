import type { ApimwStore } from '@apimw/core'
import { createApiKeyStore } from './api-key-store.js'
import { createAuditStore } from './audit-store.js'
import { createRedisChangeFeed } from './change-feed.js'
import { createCounterStore } from './counter-store.js'
import { guardClient } from './guarded-client.js'
import { keyNames } from './key-names.js'
import type { RedisStoreOptions } from './options.js'
import { resolveOptions } from './options.js'
import { createRefreshTokenStore } from './refresh-token-store.js'
import { createRevocationStore } from './revocation-store.js'
import { createSigningKeyStore } from './signing-key-store.js'

/** An {@link ApimwStore} on Redis. `close()` ends only what the store opened (the change feed's connection). */
export interface RedisStore extends ApimwStore {
  /** Disconnects the change feed's subscriber connection. Never quits the caller's client. */
  close(): Promise<void>
}

/**
 * A store on Redis, shared by every instance that uses the same server and `keyPrefix`. Each step
 * that must be atomic (refresh rotation, counters, key and signing-key changes) is one Lua script.
 * Commands fail fast while the connection is lost and time out after `commandTimeoutMs`, so a
 * request answers 503 instead of hanging. Changes reach the other instances over pub/sub.
 * The caller owns the client: the store never quits it.
 *
 * @example
 * import { Redis } from 'ioredis'
 * const redis = new Redis(process.env.REDIS_URL)
 * const store = createRedisStore({ client: redis, keyPrefix: 'apimw:' })
 * const apimw = createApimw({ store })
 * // on shutdown: await apimw.close(); await store.close(); await redis.quit()
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const resolved = resolveOptions(options)
  const names = keyNames(resolved.keyPrefix)
  const client = guardClient(resolved.client, resolved.commandTimeoutMs)
  const changes = resolved.changes
    ? createRedisChangeFeed({
        client,
        source: resolved.client,
        channel: names.changeChannel,
        onError: resolved.onError,
      })
    : undefined
  return {
    keys: createApiKeyStore(client, names),
    signingKeys: createSigningKeyStore(client, names),
    refreshTokens: createRefreshTokenStore(client, names),
    revocations: createRevocationStore(client, names),
    counters: createCounterStore(client, names),
    audit: createAuditStore({ ...resolved, client }, names),
    ...(changes ? { changes: { publish: changes.publish, subscribe: changes.subscribe } } : {}),
    async close() {
      changes?.close()
    },
  }
}
