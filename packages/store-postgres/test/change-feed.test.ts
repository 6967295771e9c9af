import pg from 'pg'
import { describe, expect, it } from 'vitest'
import {
  expectFeedsApart,
  nextChanges,
  untilSubscribed,
} from '../../../test/stores/change-feed-probes.js'
import { changeChannel, createPostgresStore } from '../src/index.js'
import { DATABASE_URL, randomSchema, usePostgres } from './pg-fixture.js'

/** Sessions of this schema's channel that are listening now (pg_stat_activity). */
async function listeners(pool: pg.Pool, channel: string): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()`,
    [`LISTEN "${channel}"`],
  )
  return rows.map((row) => row.pid)
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`${what}: not within 4 s`)
}

describe('changeChannel', () => {
  it('is <schema>_changes, and stays within 63 bytes (one per schema) for long names', () => {
    expect(changeChannel('apimw')).toBe('apimw_changes')
    const long = 'a'.repeat(63)
    const longer = `${'a'.repeat(62)}b`
    expect(changeChannel(long)).toHaveLength(63)
    expect(changeChannel(long)).toMatch(/^a{46}_[0-9a-f]{8}_changes$/)
    expect(changeChannel(longer)).not.toBe(changeChannel(long))
  })
})

describe('change feed (LISTEN/NOTIFY)', () => {
  const postgres = usePostgres()

  // Delivery between pools on one schema is in the shared store suite (test/stores).
  it('delivers nothing to a store on another schema', async () => {
    const { stores, pools } = postgres()
    const otherSchema = randomSchema()
    const other = createPostgresStore({ pool: pools[1], schema: otherSchema })
    try {
      await expectFeedsApart(stores[0], other)
    } finally {
      await other.close()
      await pools[1].query(`DROP SCHEMA IF EXISTS "${otherSchema}" CASCADE`)
    }
  })

  it('holds one pooled connection while someone listens, and closes it after the last one leaves', async () => {
    const { stores, pools, schema } = postgres()
    const channel = changeChannel(schema)
    const pool = pools[0]
    expect(await listeners(pool, channel)).toEqual([])
    const stopFirst = stores[0].changes?.subscribe(() => {})
    const stopSecond = stores[0].changes?.subscribe(() => {})
    await untilSubscribed(stores[0], stores[1])
    expect(await listeners(pool, channel)).toHaveLength(1)
    stopFirst?.()
    expect(await listeners(pool, channel)).toHaveLength(1)
    stopSecond?.()
    // Closed, not returned to the pool (where it would go on listening).
    await until(
      async () => (await listeners(pool, channel)).length === 0,
      'LISTEN connection closed',
    )
    expect(pool.totalCount - pool.idleCount).toBe(0)
  })

  it('listens again after the server ends its connection (pg_terminate_backend)', async () => {
    const { pools, schema, open } = postgres()
    const errors: unknown[] = []
    const store = open({ onError: (e) => errors.push(e) }, 0)
    const publisher = open({}, 1)
    const stop = store.changes?.subscribe(() => {})
    try {
      await untilSubscribed(store, publisher)
      const [pid] = await listeners(pools[1], changeChannel(schema))
      await pools[1].query('SELECT pg_terminate_backend($1)', [pid])
      await until(async () => errors.length > 0, 'the lost connection reported')
      await untilSubscribed(store, publisher)
      const pids = await listeners(pools[1], changeChannel(schema))
      expect(pids).toHaveLength(1)
      expect(pids[0]).not.toBe(pid)
    } finally {
      stop?.()
    }
  })

  it('reports a malformed payload to onError, ignores it and keeps delivering', async () => {
    const { pools, schema, open } = postgres()
    const errors: unknown[] = []
    const store = open({ onError: (e) => errors.push(e) }, 0)
    const got = nextChanges(store)
    try {
      await untilSubscribed(store, store)
      await pools[1].query('SELECT pg_notify($1, $2)', [changeChannel(schema), '{"kind":1}'])
      await pools[1].query('SELECT pg_notify($1, $2)', [changeChannel(schema), 'not json'])
      await store.changes?.publish({ kind: 'signing_keys' })
      expect(await got.changes).toEqual([{ kind: 'signing_keys' }])
      expect(
        errors.map((e) => (e as Error).message).filter((m) => m.includes('malformed')),
      ).toHaveLength(2)
    } finally {
      got.stop()
    }
  })

  it('lets pool.end() finish after close(), even with listeners left', async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
    const schema = randomSchema()
    const store = createPostgresStore({ pool, schema })
    try {
      store.changes?.subscribe(() => {})
      await untilSubscribed(store, store)
      await store.close()
    } finally {
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      } finally {
        await pool.end()
      }
    }
    expect(pool.totalCount).toBe(0)
  })

  it('close() resolves at once while the feed waits for a connection of an exhausted pool', async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
    const errors: unknown[] = []
    const store = createPostgresStore({
      pool,
      schema: randomSchema(),
      queryTimeoutMs: 60_000,
      onError: (e) => errors.push(e),
    })
    const held = await pool.connect()
    try {
      store.changes?.subscribe(() => {})
      expect(pool.waitingCount).toBe(1) // the feed's checkout, queued behind the held connection
      const closed = await Promise.race([
        store.close().then(() => 'closed'),
        new Promise((resolve) => setTimeout(resolve, 2_000, 'still waiting')),
      ])
      expect(closed).toBe('closed')
    } finally {
      held.release()
    }
    // The attempt gets the connection now and closes it rather than listening: pool.end() ends.
    await pool.end()
    expect(pool.totalCount).toBe(0)
    expect(errors).toEqual([])
  })

  it('gives up a LISTEN attempt that gets no connection in time, reports it and tries again', async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
    const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
    const schema = randomSchema()
    const errors: unknown[] = []
    const store = createPostgresStore({
      pool,
      schema,
      queryTimeoutMs: 100,
      onError: (e) => errors.push(e),
    })
    const held = await pool.connect()
    try {
      store.changes?.subscribe(() => {})
      await until(async () => errors.length >= 2, 'the stalled attempts reported')
      expect(errors.map(String)).toEqual(
        errors.map(() => expect.stringMatching(/no answer in 100 ms/)),
      )
      // Retries wait for the one pending checkout instead of queueing more.
      expect(pool.waitingCount).toBe(1)
      held.release()
      await until(
        async () => (await listeners(admin, changeChannel(schema))).length === 1,
        'listening after the pool freed up',
      )
    } finally {
      await store.close()
      await pool.end()
      await admin.end()
    }
  })

  it('has no feed with changes: false', () => {
    const { open } = postgres()
    expect(open({ changes: false }).changes).toBeUndefined()
  })
})
