import { LRUCache } from 'lru-cache'
import type { AuditLog } from './audit/audit-log.js'
import { createAuditLog } from './audit/audit-log.js'
import type { SecretHasher } from './credentials/secret-hasher.js'
import { createSecretHasher } from './credentials/secret-hasher.js'
import { seconds } from './internal/clock.js'
import type { ResolvedOptions } from './options.js'
import type { FailureLimiter } from './policy/failure-limiter.js'
import { createFailureLimiter } from './policy/failure-limiter.js'
import type { SigningKeyRing } from './signing-keys/signing-key-ring.js'
import { createSigningKeyRing } from './signing-keys/signing-key-ring.js'
import type { ApiKeyRecord, StoreChange } from './stores/types.js'
import type { AccessTokenSettings, VerifiedAccessToken } from './tokens/access-token.js'

/** Everything a route or the guard needs, built once per `createApimw()`. Internal. */
export interface Services {
  options: ResolvedOptions
  now(): number
  hasher: SecretHasher
  ring: SigningKeyRing
  tokens: AccessTokenSettings
  limiter: FailureLimiter
  audit: AuditLog
  /** Keys by id, trusted for `cacheTtl` seconds; changes made through this instance update it at once. */
  keyCache: TimedCache<ApiKeyRecord | null>
  /** Access-token revocation status by `jti`, trusted for `cacheTtl` seconds. */
  revokedCache: TimedCache<boolean>
  /** Tokens whose signature and claims verified: a repeat skips the signature work until `exp`. */
  verified: LRUCache<string, VerifiedAccessToken>
  /** The key, from the cache or the store; `undefined` if it does not exist. */
  loadKey(keyId: string): Promise<ApiKeyRecord | undefined>
  /** Tells the other instances sharing the store (if it has a change feed); never throws. */
  publish(change: StoreChange): Promise<void>
  /** Drops what a change makes stale from this instance's caches. */
  invalidate(change: StoreChange): void
}

export interface TimedCache<V> {
  get(name: string): V | undefined
  set(name: string, value: V): void
  delete(name: string): void
  /**
   * The cached value, else `read()`'s, cached. A value read while a `delete()` ran (a change
   * notification) is returned but not cached: it may predate the change, and caching it would
   * hide the change for `cacheTtl`.
   */
  through(name: string, read: () => Promise<V>): Promise<V>
}

function timedCache<V>(max: number, ttl: number, now: () => number): TimedCache<V> {
  const cache = new LRUCache<string, { value: V; at: number }>({ max })
  let deletions = 0
  const get = (name: string) => {
    const entry = cache.get(name)
    return entry && now() - entry.at < ttl ? entry.value : undefined
  }
  return {
    get,
    set: (name, value) => void cache.set(name, { value, at: now() }),
    delete(name) {
      deletions++
      cache.delete(name)
    },
    async through(name, read) {
      const cached = get(name)
      if (cached !== undefined) return cached
      const before = deletions
      const value = await read()
      if (deletions === before) cache.set(name, { value, at: now() })
      return value
    },
  }
}

export function createServices(options: ResolvedOptions): Services {
  const now = () => seconds(options.clock)
  const ring = createSigningKeyRing({
    store: options.store.signingKeys,
    algorithm: options.algorithms[0] ?? 'ES256',
    clock: options.clock,
    cacheTtl: options.cacheTtl,
    verifyWindow: options.accessTokenTtl + options.clockTolerance,
  })
  const keyCache = timedCache<ApiKeyRecord | null>(options.verifyCacheSize, options.cacheTtl, now)
  const revokedCache = timedCache<boolean>(options.verifyCacheSize, options.cacheTtl, now)
  const verified = new LRUCache<string, VerifiedAccessToken>({
    max: options.verifyCacheSize,
    maxSize: 32 * 1024 * 1024,
    sizeCalculation: (_claims, token) => token.length,
  })
  return {
    options,
    now,
    hasher: createSecretHasher(options.pepper),
    ring,
    tokens: {
      ring,
      issuer: options.issuer,
      audience: options.audience,
      ttl: options.accessTokenTtl,
      algorithms: options.algorithms,
      clockTolerance: options.clockTolerance,
      clock: options.clock,
    },
    limiter: createFailureLimiter(options.store.counters, options.rateLimit),
    audit: createAuditLog({
      sinks: options.auditSinks,
      clock: options.clock,
      onError: options.onError,
      keys: options.keys,
      usageFlushInterval: options.usageFlushInterval,
    }),
    keyCache,
    revokedCache,
    verified,
    async loadKey(keyId) {
      return (
        (await keyCache.through(keyId, async () => (await options.keys.get(keyId)) ?? null)) ??
        undefined
      )
    },
    async publish(change) {
      try {
        await options.store.changes?.publish(change)
      } catch (error) {
        options.onError(error)
      }
    },
    invalidate(change) {
      if (change.kind === 'key') keyCache.delete(change.keyId)
      else if (change.kind === 'access_token') revokedCache.delete(change.jti)
      else {
        ring.invalidate()
        verified.clear()
      }
    },
  }
}
