import type { ApiKeyRecord } from '@apimw/core'
import { describe, expect, it } from 'vitest'
import { usePostgres } from './pg-fixture.js'

const NOW = 1_700_000_000

const key = (overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  key: 'apimw_test_aaaaaaaaaaaaaaaaaaaa',
  name: 'orders service',
  environment: 'test',
  scopes: ['orders:read', 'orders write?', 'ü'],
  allowedIps: ['10.0.0.0/8', '::1'],
  secrets: [{ hash: 'sha256:one', expiresAt: null }],
  createdAt: NOW,
  expiresAt: NOW + 86_400,
  revokedAt: null,
  lastUsedAt: null,
  metadata: { team: { id: 7, tags: [] }, note: 'a "quoted" value' },
  ...overrides,
})

describe('API keys on Postgres', () => {
  const postgres = usePostgres()

  it('round-trips a record and rotates its secret in one statement', async () => {
    const { stores } = postgres()
    await stores[0].keys.create(key())
    expect(await stores[1].keys.get(key().key)).toEqual(key())
    const rotated = await stores[1].keys.rotateSecret(
      key().key,
      { hash: 'sha256:two', expiresAt: null },
      NOW + 3600,
    )
    expect(rotated).toEqual(
      key({
        secrets: [
          { hash: 'sha256:two', expiresAt: null },
          { hash: 'sha256:one', expiresAt: NOW + 3600 },
        ],
      }),
    )
    const again = await stores[0].keys.rotateSecret(
      key().key,
      { hash: 'sha256:three', expiresAt: null },
      NOW + 7200,
    )
    expect(again?.secrets).toEqual([
      { hash: 'sha256:three', expiresAt: null },
      { hash: 'sha256:two', expiresAt: NOW + 7200 },
    ])
  })

  it('lets exactly one of two concurrent creates of one id win', async () => {
    const { stores } = postgres()
    const results = await Promise.allSettled([
      stores[0].keys.create(key({ name: 'a' })),
      stores[1].keys.create(key({ name: 'b' })),
    ])
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
  })

  it('keeps the first revocation time and refuses to rotate a revoked key', async () => {
    const { stores } = postgres()
    await stores[0].keys.create(key())
    const [a, b] = await Promise.all([
      stores[0].keys.revoke(key().key, NOW + 1),
      stores[1].keys.revoke(key().key, NOW + 2),
    ])
    expect(a?.revokedAt).toBe(b?.revokedAt)
    expect(
      await stores[0].keys.rotateSecret(key().key, { hash: 'sha256:x', expiresAt: null }, NOW),
    ).toBeUndefined()
    expect(await stores[0].keys.revoke('apimw_test_missing', NOW)).toBeUndefined()
  })

  it('lists oldest first, insertion order breaking ties', async () => {
    const { stores } = postgres()
    await stores[0].keys.create(key({ key: 'apimw_test_c', createdAt: NOW + 1 }))
    await stores[1].keys.create(key({ key: 'apimw_test_b', createdAt: NOW }))
    await stores[0].keys.create(key({ key: 'apimw_test_a', createdAt: NOW }))
    expect((await stores[1].keys.list()).map((k) => k.key)).toEqual([
      'apimw_test_b',
      'apimw_test_a',
      'apimw_test_c',
    ])
  })
})
