import { describe, expect, it } from 'vitest'
import type { PgPool } from '../src/index.js'
import { createPostgresStore } from '../src/index.js'
import { randomSchema, usePostgres } from './pg-fixture.js'

const NOW = 1_700_000_000

describe('createPostgresStore options', () => {
  const pool: PgPool = {
    query: async () => ({ rows: [], rowCount: 0 }),
    connect: async () => {
      throw new Error('unused')
    },
  }

  it('rejects bad options with a TypeError naming the option', () => {
    expect(() => createPostgresStore({ pool: undefined as unknown as PgPool })).toThrow(/"pool"/)
    expect(() => createPostgresStore({ pool, schema: 'Bad' })).toThrow(/"schema"/)
    expect(() => createPostgresStore({ pool, touchFlushIntervalMs: -1 })).toThrow(
      /"touchFlushIntervalMs"/,
    )
    expect(() => createPostgresStore({ pool, touchBatchSize: 0 })).toThrow(/"touchBatchSize"/)
    expect(() => createPostgresStore({ pool, pruneEvery: 1.5 })).toThrow(/"pruneEvery"/)
    expect(() => createPostgresStore({ pool, maxAuditEvents: 0 })).toThrow(/"maxAuditEvents"/)
    expect(() => createPostgresStore({ pool, queryTimeoutMs: 0 })).toThrow(/"queryTimeoutMs"/)
    expect(() => createPostgresStore({ pool, changes: 1 as unknown as boolean })).toThrow(
      /"changes"/,
    )
    expect(() => createPostgresStore({ pool, onError: 'x' as unknown as () => void })).toThrow(
      /"onError"/,
    )
  })
})

describe('createPostgresStore', () => {
  const postgres = usePostgres()

  it('keeps stores on different schemas apart', async () => {
    const { stores, open, pools } = postgres()
    const otherSchema = randomSchema()
    const other = createPostgresStore({ pool: pools[1], schema: otherSchema })
    try {
      await stores[0].keys.create({
        key: 'apimw_test_k',
        name: 'k',
        environment: 'test',
        scopes: [],
        allowedIps: [],
        secrets: [],
        createdAt: NOW,
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
        metadata: {},
      })
      await stores[0].revocations.revoke('jti', NOW + 60)
      await stores[0].counters.increment('c', 60, NOW)
      await stores[0].audit.write({ type: 'key.created', at: '2023-11-14T22:13:20.000Z' })
      expect(await other.keys.get('apimw_test_k')).toBeUndefined()
      expect(await other.revocations.isRevoked('jti', NOW)).toBe(false)
      expect(await other.counters.get('c', NOW)).toBeUndefined()
      expect(await other.audit.tail({ limit: 10 })).toEqual([])
      expect(await open({}, 1).keys.list()).toHaveLength(1)
    } finally {
      await other.close()
      await pools[1].query(`DROP SCHEMA IF EXISTS "${otherSchema}" CASCADE`)
    }
  })

  it('tails the audit log newest-last, per key, and caps it with maxAuditEvents', async () => {
    const { open, pools, schema } = postgres()
    const store = open({ maxAuditEvents: 3, pruneEvery: 1 })
    for (let i = 0; i < 6; i++) {
      await store.audit.write({
        type: 'auth.failed',
        at: new Date((NOW + i) * 1000).toISOString(),
        reason: 'bad_secret',
        ...(i % 2 ? { keyId: 'k-odd' } : {}),
        details: { i },
      })
    }
    await store.close()
    expect((await store.audit.tail({ limit: 10 })).map((e) => e.details?.i)).toEqual([3, 4, 5])
    expect(
      (await store.audit.tail({ keyId: 'k-odd', limit: 10 })).map((e) => e.details?.i),
    ).toEqual([3, 5])
    expect((await store.audit.tail({ limit: 1 }))[0]).toEqual({
      type: 'auth.failed',
      at: new Date((NOW + 5) * 1000).toISOString(),
      reason: 'bad_secret',
      keyId: 'k-odd',
      details: { i: 5 },
    })
    const { rows } = await pools[0].query(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'audit_events_key_id_id'`,
      [schema],
    )
    expect(rows[0]?.indexdef).toMatch(/\(key_id, id\)/)
  })

  it('caps the audit table at 1 000 000 events by default', { timeout: 60_000 }, async () => {
    const { open, pools, schema } = postgres()
    const store = open({ pruneEvery: 1 })
    await store.audit.write({ type: 'key.created', at: '2023-11-14T22:13:20.000Z' }) // migrates
    await pools[0].query(
      `INSERT INTO "${schema}".audit_events (type, at, event)
       SELECT 'auth.failed', 'old', '{}'::json FROM generate_series(1, 1000000)`,
    )
    const newest = { type: 'key.revoked' as const, at: '2023-11-14T22:13:21.000Z' }
    await store.audit.write(newest)
    await store.close() // waits for the background prune
    const { rows } = await pools[0].query(`SELECT count(*)::int AS n FROM "${schema}".audit_events`)
    expect(rows[0].n).toBe(1_000_000)
    expect(await store.audit.tail({ limit: 1 })).toEqual([newest])
  })

  it('keeps every audit event with maxAuditEvents: null', async () => {
    const { open } = postgres()
    const store = open({ maxAuditEvents: null, pruneEvery: 1 })
    for (let i = 0; i < 5; i++) {
      await store.audit.write({ type: 'auth.failed', at: new Date((NOW + i) * 1000).toISOString() })
    }
    await store.close()
    expect(await store.audit.tail({ limit: 10 })).toHaveLength(5)
  })
})
