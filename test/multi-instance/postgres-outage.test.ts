/**
 * PostgreSQL going away and coming back, under an Express app. The pool reaches the server
 * through a TCP proxy owned by the test, so the test can make the server unreachable (nothing
 * listens on the port), drop every connection mid-run, and bring it back on the same port.
 * A second test ends the pool's sessions from the server side with pg_terminate_backend while
 * requests run. Throughout: 503 `temporarily_unavailable` with Retry-After (never a 500, never a
 * hang), the guard fails closed, nothing crashes (the store listens for the `error` events pg
 * emits on dying connections), no unhandled rejection, and service resumes on the same pool.
 *
 * The instances use `cacheTtl: 0` so that every decision reaches PostgreSQL; with the default,
 * the guard may legitimately answer a known token from memory for up to 5 s.
 */
import { randomBytes } from 'node:crypto'
import type { Apimw } from '@apimw/core'
import { createApimw } from '@apimw/core'
import type { PostgresStore } from '@apimw/store-postgres'
import { createPostgresStore } from '@apimw/store-postgres'
import pg from 'pg'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DATABASE_URL, feedReady } from './support/backends.js'
import { expressApp } from './support/express-app.js'
import { freePort } from './support/free-port.js'
import { frozenClock } from './support/instances.js'
import type { TcpProxy } from './support/tcp-proxy.js'
import { tcpProxy } from './support/tcp-proxy.js'
import { trackUnhandledRejections, waitUntil } from './support/wait.js'

const unhandled = trackUnhandledRejections()
beforeAll(unhandled.start)
afterAll(unhandled.stop)

const FAST_MS = 1_500
const target = new URL(DATABASE_URL)

describe('PostgreSQL outage', () => {
  let schema: string
  let proxy: TcpProxy
  const opened: { pool: pg.Pool; store: PostgresStore; apimw: Apimw }[] = []
  const storeErrors: unknown[] = []

  beforeEach(async () => {
    schema = `apimw_outage_${randomBytes(6).toString('hex')}`
    proxy = tcpProxy(await freePort(), {
      host: target.hostname,
      port: Number(target.port || 5432),
    })
  })

  afterEach(async () => {
    for (const entry of opened.splice(0)) {
      await entry.apimw.close()
      await entry.store.close()
      await entry.pool.end()
    }
    await proxy.stop()
    const admin = new pg.Client({ connectionString: DATABASE_URL })
    await admin.connect()
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await admin.end()
    storeErrors.length = 0
    expect(unhandled.take()).toEqual([])
  })

  /** An app on its own pool, through the proxy (or straight to the server), with pg's guidance settings. */
  function open(options: { direct?: boolean; applicationName?: string; cacheTtl?: number } = {}) {
    const url = new URL(DATABASE_URL)
    if (!options.direct) url.port = String(proxy.port)
    const pool = new pg.Pool({
      connectionString: url.toString(),
      max: 5,
      connectionTimeoutMillis: 2_000,
      application_name: options.applicationName,
    })
    // No pool.on('error') here: the store must add its own, or a dying idle connection would
    // end this process.
    const store = createPostgresStore({
      pool,
      schema,
      onError: (error) => storeErrors.push(error),
    })
    const apimw = createApimw({
      store,
      clock: frozenClock,
      cacheTtl: options.cacheTtl ?? 0,
      onError: () => {},
    })
    opened.push({ pool, store, apimw })
    return { pool, store, apimw, app: expressApp(apimw) }
  }

  type App = ReturnType<typeof open>['app']
  const tokenRequest = (app: App, key: string, secret: string) =>
    request(app).post('/auth/token').send({ api_key: key, api_secret: secret })
  const bearer = (app: App, token: string) =>
    request(app).get('/v1/orders').set('authorization', `Bearer ${token}`)

  async function expectUnavailable(send: () => request.Test, surface: 'token' | 'bearer') {
    const started = performance.now()
    const res = await send()
    const elapsed = performance.now() - started
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/)
    expect(res.body.error).toBe('temporarily_unavailable')
    if (surface === 'bearer') expect(res.headers['www-authenticate']).toBeUndefined()
    expect(elapsed).toBeLessThan(FAST_MS)
    return elapsed
  }

  /** A key and a token made by an instance on a memory store: well-formed, unknown here. */
  async function foreignToken() {
    const elsewhere = createApimw({ clock: frozenClock })
    const { record, secret } = await elsewhere.keys.create({ name: 'k', scopes: ['orders:read'] })
    const res = await tokenRequest(expressApp(elsewhere), record.key, secret).expect(200)
    return { key: record.key, secret, token: res.body.access_token as string }
  }

  it('answers 503 while the server is unreachable (closed port), and serves once it is', async () => {
    const { apimw, app } = open()
    const foreign = await foreignToken()
    await expectUnavailable(() => tokenRequest(app, foreign.key, foreign.secret), 'token')
    await expectUnavailable(() => bearer(app, foreign.token), 'bearer')
    await expectUnavailable(
      () =>
        request(app)
          .post('/auth/refresh')
          .send({ refresh_token: 'x'.repeat(43) }),
      'token',
    )

    await proxy.start()
    const { record, secret } = await apimw.keys.create({ name: 'k', scopes: ['orders:read'] })
    const issued = await tokenRequest(app, record.key, secret).expect(200)
    await bearer(app, issued.body.access_token).expect(200)
  })

  it('answers 503 when every connection drops mid-run, and resumes on the same pool', async () => {
    await proxy.start()
    const a = open()
    const b = open()
    await feedReady(a.store, b.store)
    const { record, secret } = await a.apimw.keys.create({ name: 'k', scopes: ['orders:read'] })
    const issued = await tokenRequest(a.app, record.key, secret).expect(200)
    const token = issued.body.access_token as string
    await bearer(a.app, token).expect(200)

    await proxy.stop() // every pooled and listening connection is cut; nothing listens any more
    const elapsed = [
      await expectUnavailable(() => tokenRequest(a.app, record.key, secret), 'token'),
      await expectUnavailable(() => bearer(a.app, token), 'bearer'),
      await expectUnavailable(
        () =>
          request(a.app).post('/auth/refresh').send({ refresh_token: issued.body.refresh_token }),
        'token',
      ),
    ]
    console.log(
      `[outage] postgres down: 503 in ${elapsed.map((ms) => ms.toFixed(1)).join(', ')} ms`,
    )

    await proxy.start()
    const resumed = await waitUntil(
      'token route serves again',
      async () => (await tokenRequest(a.app, record.key, secret)).status === 200,
      { timeoutMs: 10_000, intervalMs: 50 },
    )
    console.log(`[outage] postgres back: serving again ${resumed.toFixed(0)} ms after the restart`)
    await bearer(a.app, token).expect(200)
    await request(a.app)
      .post('/auth/refresh')
      .send({ refresh_token: issued.body.refresh_token })
      .expect(200)
    // The listening connections were replaced: LISTEN again, with backoff.
    await feedReady(a.store, b.store)
    await feedReady(b.store, a.store)
  })

  it('survives pg_terminate_backend mid-run: 200 or 503, never a 500 or a crash, then recovers', async () => {
    const applicationName = `apimw-outage-${randomBytes(4).toString('hex')}`
    const { apimw, app } = open({ direct: true, applicationName })
    const { record, secret } = await apimw.keys.create({ name: 'k', scopes: ['orders:read'] })
    const issued = await tokenRequest(app, record.key, secret).expect(200)
    const token = issued.body.access_token as string

    const admin = new pg.Client({ connectionString: DATABASE_URL })
    await admin.connect()
    const terminate = async () => {
      const { rowCount } = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      )
      return rowCount ?? 0
    }
    const statuses: number[] = []
    let terminated = 0
    try {
      for (let round = 0; round < 5; round++) {
        const requests = Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? tokenRequest(app, record.key, secret) : bearer(app, token)).then((res) =>
            statuses.push(res.status),
          ),
        )
        terminated += await terminate()
        await Promise.all(requests)
      }
    } finally {
      await admin.end()
    }
    const counts = Object.fromEntries(
      [...new Set(statuses)].map((status) => [status, statuses.filter((s) => s === status).length]),
    )
    console.log(
      `[outage] pg_terminate_backend x5 (${terminated} sessions ended): ${JSON.stringify(counts)}`,
    )
    expect(terminated).toBeGreaterThan(0)
    expect(statuses.every((status) => status === 200 || status === 503)).toBe(true)

    await waitUntil(
      'serves again',
      async () =>
        (await tokenRequest(app, record.key, secret)).status === 200 &&
        (await bearer(app, token)).status === 200,
      { timeoutMs: 10_000, intervalMs: 50 },
    )
  })
})
