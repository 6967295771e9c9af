import { describe, expect, it, vi } from 'vitest'
import type { PgPool } from '../src/index.js'
import { usePostgres } from './pg-fixture.js'

const NOW = 1_700_000_000

const record = (key: string) => ({
  key,
  name: key,
  environment: 'test' as const,
  scopes: [],
  allowedIps: [],
  secrets: [{ hash: `sha256:${key}`, expiresAt: null }],
  createdAt: NOW,
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  metadata: {},
})

/** A pool that counts the connections checked out (one per transaction). */
function counting(pool: PgPool): PgPool & { checkouts: number } {
  const counted = {
    checkouts: 0,
    query: pool.query.bind(pool),
    connect() {
      counted.checkouts += 1
      return pool.connect()
    },
  }
  return counted
}

describe('keys.touch() on Postgres', () => {
  const postgres = usePostgres()

  it('buffers touches in memory and writes them in one transaction on flush', async () => {
    const { pools, schema, open } = postgres()
    const pool = counting(pools[0])
    const store = open({ pool, touchFlushIntervalMs: 60_000 })
    for (const key of ['k1', 'k2', 'k3']) await store.keys.create(record(key))
    const before = pool.checkouts
    for (let i = 0; i < 100; i++) await store.keys.touch(`k${(i % 3) + 1}`, NOW + i)
    await store.keys.touch('unknown', NOW)

    const read = async () =>
      (await pools[1].query(`SELECT key, last_used_at FROM "${schema}".api_keys ORDER BY key`)).rows
    expect(await read()).toEqual([
      { key: 'k1', last_used_at: null },
      { key: 'k2', last_used_at: null },
      { key: 'k3', last_used_at: null },
    ])
    // This process reads its own buffered touches.
    expect((await store.keys.get('k1'))?.lastUsedAt).toBe(NOW + 99)
    expect(pool.checkouts).toBe(before)

    await store.flush()
    expect(pool.checkouts).toBe(before + 1)
    expect(await read()).toEqual([
      { key: 'k1', last_used_at: String(NOW + 99) },
      { key: 'k2', last_used_at: String(NOW + 97) },
      { key: 'k3', last_used_at: String(NOW + 98) },
    ])
  })

  it('never moves lastUsedAt back', async () => {
    const { stores, open } = postgres()
    await stores[0].keys.create(record('k'))
    await stores[0].keys.touch('k', NOW + 50)
    await stores[0].flush()
    const other = open({ touchFlushIntervalMs: 0 }, 1)
    await other.keys.touch('k', NOW + 10)
    expect((await other.keys.get('k'))?.lastUsedAt).toBe(NOW + 50)
  })

  it('writes on its timer, which does not keep the process alive', async () => {
    const { open, pools, schema } = postgres()
    const store = open({ touchFlushIntervalMs: 20 })
    await store.keys.create(record('k'))
    await store.keys.touch('k', NOW)
    await vi.waitFor(
      async () => {
        const { rows } = await pools[1].query(`SELECT last_used_at FROM "${schema}".api_keys`)
        expect(rows).toEqual([{ last_used_at: String(NOW) }])
      },
      { timeout: 2000, interval: 10 },
    )
  })

  it('writes early once touchBatchSize keys are waiting', async () => {
    const { open } = postgres()
    const store = open({ touchFlushIntervalMs: 60_000, touchBatchSize: 2 })
    const reader = open({}, 1)
    await store.keys.create(record('a'))
    await store.keys.create(record('b'))
    await store.keys.touch('a', NOW)
    await store.keys.touch('b', NOW)
    await vi.waitFor(async () => expect((await reader.keys.get('b'))?.lastUsedAt).toBe(NOW))
  })

  it('flushes on close() and leaves the pool open', async () => {
    const { open, pools } = postgres()
    const store = open({ touchFlushIntervalMs: 60_000 })
    await store.keys.create(record('k'))
    await store.keys.touch('k', NOW + 1)
    await store.close()
    expect((await pools[0].query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    expect((await open({}, 1).keys.get('k'))?.lastUsedAt).toBe(NOW + 1)
  })

  it('survives two processes flushing overlapping batches at once', async () => {
    const { stores } = postgres()
    const keys = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}`)
    for (const key of keys) await stores[0].keys.create(record(key))
    for (let round = 0; round < 5; round++) {
      for (const [i, key] of keys.entries()) {
        await stores[0].keys.touch(key, NOW + round * 100 + i)
        await stores[1].keys.touch(keys[keys.length - 1 - i]!, NOW + round * 100 + i)
      }
      await Promise.all([stores[0].flush(), stores[1].flush()])
    }
    const list = await stores[0].keys.list()
    expect(list.map((k) => k.lastUsedAt)).toEqual(
      keys.map((_, i) => NOW + 400 + Math.max(i, keys.length - 1 - i)),
    )
  })
})
