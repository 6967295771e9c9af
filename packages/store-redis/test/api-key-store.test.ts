import type { ApiKeyRecord } from '@apimw/core'
import { describe, expect, it } from 'vitest'
import { drivers, useRedis } from './redis-clients.js'

const NOW = 1_700_000_000

const key = (overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  key: 'apimw_test_aaaaaaaaaaaaaaaaaaaa',
  name: 'orders service',
  environment: 'test',
  scopes: [],
  allowedIps: [],
  secrets: [{ hash: 'sha256:one/+=', expiresAt: null }],
  createdAt: NOW,
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  metadata: {},
  ...overrides,
})

describe.each(drivers)('API keys on Redis ($name)', (driver) => {
  const redis = useRedis(driver)

  it('round-trips empty arrays and objects, and nested metadata, unchanged', async () => {
    const { stores } = redis()
    const record = key({ metadata: { team: { id: 7, tags: [] } }, scopes: [], allowedIps: [] })
    await stores[0].keys.create(record)
    expect(await stores[1].keys.get(record.key)).toEqual(record)
    const rotated = await stores[1].keys.rotateSecret(
      record.key,
      { hash: 'sha256:two', expiresAt: null },
      NOW + 3600,
    )
    expect(rotated).toEqual({
      ...record,
      secrets: [
        { hash: 'sha256:two', expiresAt: null },
        { hash: 'sha256:one/+=', expiresAt: NOW + 3600 },
      ],
    })
    expect(await stores[0].keys.get(record.key)).toEqual(rotated)
  })

  it('rotateSecret run twice with the same secret (a resent script) keeps the old secret', async () => {
    const { stores } = redis()
    await stores[0].keys.create(key())
    const next = { hash: 'sha256:two', expiresAt: null }
    const first = await stores[0].keys.rotateSecret(key().key, next, NOW + 3600)
    const again = await stores[1].keys.rotateSecret(key().key, next, NOW + 7200)
    const expected = key({
      secrets: [next, { hash: 'sha256:one/+=', expiresAt: NOW + 3600 }],
    })
    expect(first).toEqual(expected)
    expect(again).toEqual(expected)
    expect(await stores[0].keys.get(key().key)).toEqual(expected)
    // A different secret is a new rotation as usual.
    expect(
      (await stores[0].keys.rotateSecret(key().key, { hash: 'sha256:3', expiresAt: null }, NOW))
        ?.secrets,
    ).toEqual([
      { hash: 'sha256:3', expiresAt: null },
      { hash: 'sha256:two', expiresAt: NOW },
    ])
  })

  it('lets exactly one of two concurrent creates of one id win', async () => {
    const { stores } = redis()
    const results = await Promise.allSettled([
      stores[0].keys.create(key({ name: 'a' })),
      stores[1].keys.create(key({ name: 'b' })),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1)
  })

  it('keeps the first revocation time and refuses to rotate a revoked key', async () => {
    const { stores } = redis()
    await stores[0].keys.create(key())
    const [a, b] = await Promise.all([
      stores[0].keys.revoke(key().key, NOW + 1),
      stores[1].keys.revoke(key().key, NOW + 2),
    ])
    expect(a?.revokedAt).toBe(b?.revokedAt)
    expect(await stores[0].keys.revoke(key().key, NOW + 3)).toMatchObject({
      revokedAt: a?.revokedAt,
    })
    expect(
      await stores[0].keys.rotateSecret(key().key, { hash: 'sha256:x', expiresAt: null }, NOW),
    ).toBeUndefined()
    expect(await stores[0].keys.revoke('apimw_test_missing', NOW)).toBeUndefined()
  })

  it('keeps the latest use under concurrent touches and never creates a missing key', async () => {
    const { stores } = redis()
    await stores[0].keys.create(key())
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stores[i % 2]!.keys.touch(key().key, NOW + ((i * 7) % 20)),
      ),
    )
    expect((await stores[0].keys.get(key().key))?.lastUsedAt).toBe(NOW + 19)
    await stores[0].keys.touch('apimw_test_missing', NOW)
    expect(await stores[0].keys.get('apimw_test_missing')).toBeUndefined()
  })

  it('lists oldest first, insertion order breaking ties', async () => {
    const { stores } = redis()
    await stores[0].keys.create(key({ key: 'apimw_test_c', createdAt: NOW + 1 }))
    await stores[1].keys.create(key({ key: 'apimw_test_b', createdAt: NOW }))
    await stores[0].keys.create(key({ key: 'apimw_test_a', createdAt: NOW }))
    expect((await stores[1].keys.list()).map((k) => k.key)).toEqual([
      'apimw_test_b',
      'apimw_test_a',
      'apimw_test_c',
    ])
  })

  it('does not throw for odd ids', async () => {
    const { stores } = redis()
    for (const id of ['', '*', 'a:b:c', '{tag}', 'ü'.repeat(100)]) {
      expect(await stores[0].keys.get(id)).toBeUndefined()
    }
  })
})
