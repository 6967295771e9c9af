import { EventEmitter } from 'node:events'
import type { ApiKeyRecord } from '@apimw/core'
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
      { signal: controller.signal, at: performance.now() + 60_000, timeoutMs: 1 },
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

describe('writes that time out', () => {
  const postgres = usePostgres()

  const key = (overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
    key: 'apimw_test_locked',
    name: 'locked',
    environment: 'test',
    scopes: [],
    allowedIps: [],
    secrets: [{ hash: 'sha256:old', expiresAt: null }],
    createdAt: NOW,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    metadata: {},
    ...overrides,
  })

  /** Sessions of `applicationName` doing something (a statement running or waiting for a lock). */
  const busySessions = async (admin: pg.Pool, applicationName: string) =>
    Number(
      (
        await admin.query(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'`,
          [applicationName],
        )
      ).rows[0].n,
    )

  it('never commit after the caller got the timeout: rotateSecret blocked on a row lock', async () => {
    const { stores, pools, schema } = postgres()
    await stores[0].keys.create(key())
    const applicationName = `apimw-locked-${Math.random().toString(36).slice(2)}`
    const pool = new pg.Pool({
      connectionString: DATABASE_URL,
      max: 2,
      application_name: applicationName,
    })
    const store = createPostgresStore({ pool, schema, queryTimeoutMs: 300, changes: false })
    const locker = await pools[1].connect()
    let locked = true
    try {
      await locker.query('BEGIN')
      await locker.query(`SELECT 1 FROM "${schema}".api_keys WHERE key = $1 FOR UPDATE`, [
        key().key,
      ])
      await expect(
        store.keys.rotateSecret(key().key, { hash: 'sha256:new', expiresAt: null }, NOW + 60),
      ).rejects.toBeInstanceOf(PostgresTimeoutError)
      await locker.query('COMMIT')
      locked = false
      // A statement still waiting for the lock would run now: wait until none of the store's
      // sessions is busy (propagation, not expiry), then take the row lock ourselves, which
      // queues behind any writer still in line.
      await waitUntil(async () => (await busySessions(pools[1], applicationName)) === 0)
      const client = await pools[1].connect()
      try {
        await client.query('BEGIN')
        await client.query(`SELECT 1 FROM "${schema}".api_keys WHERE key = $1 FOR UPDATE`, [
          key().key,
        ])
        await client.query('COMMIT')
      } finally {
        client.release()
      }
      expect(await stores[1].keys.get(key().key)).toEqual(key())
      // The store works again once the lock is gone.
      expect(
        (await store.keys.rotateSecret(key().key, { hash: 'sha256:new', expiresAt: null }, NOW))
          ?.secrets,
      ).toEqual([
        { hash: 'sha256:new', expiresAt: null },
        { hash: 'sha256:old', expiresAt: NOW },
      ])
    } finally {
      if (locked) await locker.query('ROLLBACK').catch(() => undefined)
      locker.release()
      await store.close()
      await pool.end()
    }
  })

  it('drop a connection that arrives after the deadline, and write nothing with it', async () => {
    const { stores, schema } = postgres()
    await stores[0].keys.create(key())
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
    const store = createPostgresStore({ pool, schema, queryTimeoutMs: 200, changes: false })
    const held = await pool.connect()
    try {
      await expect(store.keys.revoke(key().key, NOW + 5)).rejects.toBeInstanceOf(
        PostgresTimeoutError,
      )
      held.release()
      // The late checkout gets the connection, sees the deadline passed and closes it.
      await waitUntil(async () => pool.totalCount === 0 && pool.waitingCount === 0)
      expect(await stores[1].keys.get(key().key)).toEqual(key())
      expect((await store.keys.revoke(key().key, NOW + 6))?.revokedAt).toBe(NOW + 6)
    } finally {
      await store.close()
      await pool.end()
    }
  })

  it('do not leave a stalled first migration in place: the next call migrates again', async () => {
    const { schema } = postgres()
    const real = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
    let checkouts = 0
    // The first checkout never comes (e.g. an exhausted pool); later ones do.
    const pool: PgPool = {
      query: (text, values) => real.query(text, values),
      connect: () => (++checkouts === 1 ? new Promise(() => {}) : real.connect()),
    }
    const store = createPostgresStore({ pool, schema, queryTimeoutMs: 200, changes: false })
    try {
      await expect(store.counters.get('c', NOW)).rejects.toBeInstanceOf(PostgresTimeoutError)
      expect(await store.counters.increment('c', 60, NOW)).toEqual({ count: 1, resetAt: NOW + 60 })
      expect(checkouts).toBeGreaterThanOrEqual(2)
    } finally {
      await store.close()
      await real.end()
    }
  })
})

/** Polls `check` (for propagation between sessions, never for expiry) for up to 5 s. */
async function waitUntil(check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('condition not met within 5 s')
}

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
