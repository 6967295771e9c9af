import { EventEmitter } from 'node:events'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PgPool } from '../src/index.js'
import { createPostgresStore, PostgresTimeoutError } from '../src/index.js'
import { withTransaction } from '../src/transaction.js'
import { DATABASE_URL, usePostgres } from './pg-fixture.js'

const NOW = 1_700_000_000

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeEach(() => {
  process.on('unhandledRejection', onUnhandled)
})
afterEach(async () => {
  await new Promise((resolve) => setTimeout(resolve, 10))
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled.splice(0)).toEqual([])
})

/** A pool whose queries and checkouts answer only when the test says so. */
function stalledPool() {
  const pending: { reject(error: Error): void }[] = []
  const stall = <T>() => new Promise<T>((_resolve, reject) => pending.push({ reject }))
  const pool: PgPool = { query: stall, connect: stall }
  const failLater = () => {
    for (const p of pending) p.reject(new Error('late failure'))
  }
  return { pool, failLater }
}

describe('queryTimeoutMs', () => {
  it('fails a query and a transaction that get no answer, and a late failure stays handled', async () => {
    const { pool, failLater } = stalledPool()
    const store = createPostgresStore({ pool, migrate: false, queryTimeoutMs: 30, changes: false })
    const started = performance.now()
    await expect(store.keys.get('apimw_test_k')).rejects.toBeInstanceOf(PostgresTimeoutError)
    await expect(store.refreshTokens.rotate('a', 'b', NOW)).rejects.toBeInstanceOf(
      PostgresTimeoutError,
    )
    expect(performance.now() - started).toBeLessThan(1_000)
    failLater()
  })

  it('also bounds the migration on first use', async () => {
    const { pool, failLater } = stalledPool()
    const store = createPostgresStore({ pool, queryTimeoutMs: 30, changes: false })
    await expect(store.counters.get('c', NOW)).rejects.toBeInstanceOf(PostgresTimeoutError)
    failLater()
  })
})

describe('transactions', () => {
  const postgres = usePostgres()

  it('roll back instead of committing once the deadline has passed', async () => {
    const { pools, schema } = postgres()
    await pools[0].query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
    await pools[0].query(`CREATE TABLE "${schema}".t (n int)`)
    const controller = new AbortController()
    const result = withTransaction(
      pools[0],
      async (client) => {
        await client.query(`INSERT INTO "${schema}".t VALUES (1)`)
        controller.abort(new PostgresTimeoutError(1)) // the caller has been answered meanwhile
        await client.query(`INSERT INTO "${schema}".t VALUES (2)`)
      },
      controller.signal,
    )
    await expect(result).rejects.toBeInstanceOf(PostgresTimeoutError)
    const { rows } = await pools[0].query(`SELECT count(*)::int AS n FROM "${schema}".t`)
    expect(rows[0].n).toBe(0)
  })

  it('survive the server ending the session mid-transaction: a rejection, not a crash', async () => {
    const { pools } = postgres()
    const result = withTransaction(pools[0], async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      await pools[1].query('SELECT pg_terminate_backend($1)', [rows[0]?.pid])
      // The FATAL message and the end of the socket arrive while this connection sits idle in
      // its transaction: pg emits `error` on it, which must have a listener.
      await new Promise((resolve) => setTimeout(resolve, 50))
      await client.query('SELECT 1')
    })
    await expect(result).rejects.toThrow()
    // The broken connection was discarded; the pool serves on.
    expect((await pools[0].query('SELECT 1 AS one')).rows[0].one).toBe(1)
  })
})

describe("the pool's error event", () => {
  it('gets a listener (reporting to onError) when the pool has none, since one without would end the process', () => {
    const errors: unknown[] = []
    const pool = Object.assign(new EventEmitter(), stalledPool().pool)
    createPostgresStore({ pool, onError: (e) => errors.push(e), changes: false })
    createPostgresStore({ pool, changes: false }) // a second store adds no second listener
    expect(pool.listenerCount('error')).toBe(1)
    pool.emit('error', new Error('idle connection died'))
    expect(errors).toHaveLength(1)
  })

  it("is left to the pool's own listener when it has one", () => {
    const pool = Object.assign(new EventEmitter(), stalledPool().pool)
    const own = () => {}
    pool.on('error', own)
    createPostgresStore({ pool, changes: false })
    expect(pool.listeners('error')).toEqual([own])
  })

  it('keeps a real pool alive when an idle connection is terminated', async () => {
    const pool = new pg.Pool({
      connectionString: DATABASE_URL,
      max: 2,
      application_name: 'apimw-idle',
    })
    const errors: unknown[] = []
    createPostgresStore({ pool, onError: (e) => errors.push(e), changes: false })
    try {
      const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      const admin = new pg.Client({ connectionString: DATABASE_URL })
      await admin.connect()
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid])
      await admin.end()
      for (let i = 0; i < 200 && errors.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(errors.length).toBeGreaterThan(0)
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    } finally {
      await pool.end()
    }
  })
})
