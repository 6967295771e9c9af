import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { apiKey, auditEvent, NOW, refreshToken, signingKey } from '../../../test/stores/records.js'
import type { RedisClient } from '../src/index.js'
import { createRedisStore } from '../src/index.js'
import { drivers, keysUnder, REDIS_URL, useRedis } from './redis-clients.js'

describe('createRedisStore options', () => {
  const client: RedisClient = { call: async () => null }

  it('rejects a missing client, an empty prefix and bad audit limits with a TypeError', () => {
    expect(() => createRedisStore({ client: undefined as unknown as RedisClient })).toThrow(
      /"client"/,
    )
    expect(() => createRedisStore({ client, keyPrefix: '' })).toThrow(/"keyPrefix"/)
    expect(() => createRedisStore({ client, maxAuditEvents: 0 })).toThrow(/"maxAuditEvents"/)
    expect(() => createRedisStore({ client, auditKeyTtlSeconds: 1.5 })).toThrow(
      /"auditKeyTtlSeconds"/,
    )
    expect(() => createRedisStore({ client, maxAuditKeys: 0 })).toThrow(/"maxAuditKeys"/)
    expect(() => createRedisStore({ client, commandTimeoutMs: 0 })).toThrow(/"commandTimeoutMs"/)
    expect(() => createRedisStore({ client, changes: 'yes' as unknown as boolean })).toThrow(
      /"changes"/,
    )
    expect(() => createRedisStore({ client, onError: 1 as unknown as () => void })).toThrow(
      /"onError"/,
    )
  })

  it('refuses a client with its own keyPrefix, which scripts would not honour', async () => {
    const prefixed = new Redis(REDIS_URL, { keyPrefix: 'other:', lazyConnect: true })
    expect(() => createRedisStore({ client: prefixed })).toThrow(TypeError)
    prefixed.disconnect()
  })
})

describe.each(drivers)('createRedisStore ($name)', (driver) => {
  const redis = useRedis(driver)

  it('writes every key under keyPrefix, and stores with other prefixes see none of them', async () => {
    const { clients, prefix, stores } = redis()
    const otherPrefix = `${prefix}other-`
    const other = createRedisStore({ client: clients[1], keyPrefix: otherPrefix })
    const [store] = stores

    await store.keys.create(apiKey({ key: 'apimw_test_k' }))
    await store.signingKeys.activate(signingKey('kid'))
    await store.refreshTokens.create(
      refreshToken({ hash: 'sha256:r', familyId: 'f', keyId: 'apimw_test_k', expiresAt: NOW + 60 }),
    )
    await store.refreshTokens.revokeByKey('apimw_test_k', NOW + 1)
    await store.revocations.revoke('jti', NOW + 60, NOW)
    await store.counters.increment('c', 60, NOW)
    await store.audit.write(auditEvent(0, { keyId: 'apimw_test_k' }))

    expect(await other.keys.get('apimw_test_k')).toBeUndefined()
    expect(await other.keys.list()).toEqual([])
    expect(await other.signingKeys.list()).toEqual([])
    expect(await other.refreshTokens.find('sha256:r')).toBeUndefined()
    expect(await other.revocations.isRevoked('jti', NOW)).toBe(false)
    expect(await other.counters.get('c', NOW)).toBeUndefined()
    expect(await other.audit.tail({ limit: 10 })).toEqual([])
    expect((await other.signingKeys.activate(signingKey('other-kid'))).kid).toBe('other-kid')

    const keys = await keysUnder(clients[0], prefix)
    expect(keys.filter((k) => !k.startsWith(otherPrefix))).toEqual(
      [
        'apikey:apimw_test_k',
        'apikeys',
        'audit',
        'audit-key:apimw_test_k',
        'audit-keys',
        'counter:c',
        'revoked:jti',
        'rt:sha256:r',
        'rtfamily:f',
        'rtkey-revoked:apimw_test_k',
        'seq',
        'sigkey-active:ES256',
        'sigkey:kid',
        'sigkeys',
      ].map((k) => prefix + k),
    )
  })

  it('reloads its scripts after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const { clients, stores } = redis()
    await stores[0].counters.increment('c', 60, NOW)
    await clients[0].call('SCRIPT', 'FLUSH')
    expect(await stores[1].counters.increment('c', 60, NOW)).toEqual({
      count: 2,
      resetAt: NOW + 60,
    })
  })
})
