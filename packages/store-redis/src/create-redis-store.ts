import type { ApimwStore } from '@apimw/core'
import { createApiKeyStore } from './api-key-store.js'
import { createAuditStore } from './audit-store.js'
import { createCounterStore } from './counter-store.js'
import { keyNames } from './key-names.js'
import type { RedisStoreOptions } from './options.js'
import { resolveOptions } from './options.js'
import { createRefreshTokenStore } from './refresh-token-store.js'
import { createRevocationStore } from './revocation-store.js'
import { createSigningKeyStore } from './signing-key-store.js'

/**
 * A store on Redis, shared by every instance that uses the same server and `keyPrefix`. Each step
 * that must be atomic (refresh rotation, counters, key and signing-key changes) is one Lua script.
 * The caller owns the client: the store has no `close()` and never quits it.
 *
 * @example
 * import { Redis } from 'ioredis'
 * const redis = new Redis(process.env.REDIS_URL)
 * const apimw = createApimw({ store: createRedisStore({ client: redis, keyPrefix: 'apimw:' }) })
 */
export function createRedisStore(options: RedisStoreOptions): ApimwStore {
  const resolved = resolveOptions(options)
  const names = keyNames(resolved.keyPrefix)
  const { client } = resolved
  return {
    keys: createApiKeyStore(client, names),
    signingKeys: createSigningKeyStore(client, names),
    refreshTokens: createRefreshTokenStore(client, names),
    revocations: createRevocationStore(client, names),
    counters: createCounterStore(client, names),
    audit: createAuditStore(resolved, names),
  }
}
