/**
 * Redis going away and coming back, under an Express app: a `redis-server` owned by the test, on
 * its own port, killed (SIGKILL) and started again on the same port. While it is down, every
 * `/auth` route answers 503 `temporarily_unavailable` with `Retry-After`, the guard fails closed
 * with 503 (no challenge), nothing hangs (the store fails fast while ioredis reconnects), nothing
 * crashes and no promise rejection goes unhandled. When it is back, the same app on the same client
 * serves again by itself.
 *
 * The instances use `cacheTtl: 0`: with the default (5 s), the guard may legitimately answer a
 * known token from memory for up to 5 s after Redis went away (it keeps verified tokens and key
 * status for cacheTtl). Here every decision must reach Redis, which is what the test is about.
 */
import { randomBytes } from 'node:crypto'
import type { Apimw } from '@apimw/core'
import { createApimw } from '@apimw/core'
import type { RedisStore } from '@apimw/store-redis'
import { createRedisStore } from '@apimw/store-redis'
import type express from 'express'
import { Redis } from 'ioredis'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { feedReady } from './support/backends.js'
import { expressApp } from './support/express-app.js'
import { frozenClock, guardStatus } from './support/instances.js'
import type { OwnedRedis } from './support/redis-server.js'
import { ownedRedis } from './support/redis-server.js'
import { trackUnhandledRejections, waitUntil } from './support/wait.js'

const unhandled = trackUnhandledRejections()
beforeAll(unhandled.start)
afterAll(unhandled.stop)

/** A request while Redis is down must answer well within the store's 2 s command timeout. */
const FAST_MS = 1_500

describe('Redis outage', () => {
  let redis: OwnedRedis
  let prefix: string
  let client: Redis
  let apimw: Apimw
  let app: express.Express
  const opened: { client: Redis; store: RedisStore; apimw: Apimw }[] = []

  beforeEach(async () => {
    redis = await ownedRedis()
    prefix = `apimw-outage:${randomBytes(6).toString('hex')}:`
  })

  afterEach(async () => {
    for (const entry of opened.splice(0)) {
      await entry.apimw.close()
      await entry.store.close()
      entry.client.disconnect()
    }
    await redis.dispose()
    expect(unhandled.take()).toEqual([])
  })

  /** An instance on its own client (ioredis's default options) and store, on `prefix`. */
  function instance(options: { cacheTtl?: number; commandTimeoutMs?: number } = {}) {
    const connection = new Redis(redis.url)
    connection.on('error', () => {}) // ioredis would print every failed reconnect otherwise
    const { commandTimeoutMs, ...coreOptions } = options
    const created = createRedisStore({ client: connection, keyPrefix: prefix, commandTimeoutMs })
    const core = createApimw({
      store: created,
      clock: frozenClock,
      onError: () => {},
      ...coreOptions,
    })
    const entry = { client: connection, store: created, apimw: core }
    opened.push(entry)
    return entry
  }

  /** The app under test: cacheTtl 0, so that every decision reaches Redis. */
  function open(commandTimeoutMs?: number) {
    ;({ client, apimw } = instance({ cacheTtl: 0, commandTimeoutMs }))
    app = expressApp(apimw)
  }
  const tokenRequest = (key: string, secret: string) =>
    request(app).post('/auth/token').send({ api_key: key, api_secret: secret })

  /** Asserts a 503 `temporarily_unavailable` with Retry-After, answered quickly. */
  async function expectUnavailable(send: () => request.Test, surface: 'token' | 'bearer') {
    const started = performance.now()
    const res = await send()
    const elapsed = performance.now() - started
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/)
    expect(res.body.error).toBe('temporarily_unavailable')
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    if (surface === 'bearer') expect(res.headers['www-authenticate']).toBeUndefined()
    expect(elapsed).toBeLessThan(FAST_MS)
    return elapsed
  }

  it('answers 503 while Redis is down, fails closed, and resumes when it is back', async () => {
    await redis.start()
    open()
    const { record, secret } = await apimw.keys.create({ name: 'k', scopes: ['orders:read'] })
    const issued = await tokenRequest(record.key, secret).expect(200)
    const { access_token: token, refresh_token: refresh } = issued.body
    const bearer = () => request(app).get('/v1/orders').set('authorization', `Bearer ${token}`)
    await bearer().expect(200)

    // A persistent Redis keeps its data over a restart; SAVE stands in for that here.
    await client.call('SAVE')
    await redis.kill()
    await waitUntil('ioredis notices', () => client.status !== 'ready', { timeoutMs: 5_000 })

    const elapsed = [
      await expectUnavailable(() => tokenRequest(record.key, secret), 'token'),
      await expectUnavailable(
        () => request(app).post('/auth/refresh').send({ refresh_token: refresh }),
        'token',
      ),
      await expectUnavailable(() => request(app).post('/auth/revoke').send({ token }), 'token'),
      await expectUnavailable(bearer, 'bearer'),
      await expectUnavailable(bearer, 'bearer'),
    ]
    expect(await guardStatus(apimw, token)).toBe(503)
    console.log(
      `[outage] redis down: 503 in ${elapsed.map((ms) => ms.toFixed(1)).join(', ')} ms ` +
        `(client status ${client.status})`,
    )

    await redis.start()
    const resumed = await waitUntil(
      'token route serves again',
      async () => (await tokenRequest(record.key, secret)).status === 200,
      { timeoutMs: 15_000, intervalMs: 50 },
    )
    console.log(`[outage] redis back: serving again ${resumed.toFixed(0)} ms after the restart`)
    await bearer().expect(200)
    const refreshed = await request(app).post('/auth/refresh').send({ refresh_token: refresh })
    expect(refreshed.status).toBe(200)
  })

  it('answers 503 at once when Redis was never reachable, and serves once it starts', async () => {
    open() // the client connects (and retries) to a port nothing listens on yet
    const started = performance.now()
    await expect(apimw.keys.create({ name: 'k' })).rejects.toThrow()
    expect(performance.now() - started).toBeLessThan(FAST_MS)
    await expectUnavailable(() => tokenRequest('apimw_test_AAAAAAAAAAAAAAAAAAAAAAAA', 's'), 'token')
    // A well-formed token from elsewhere: its kid needs the store, which is down → 503, not 401.
    const elsewhere = createApimw({ clock: frozenClock })
    const { record, secret } = await elsewhere.keys.create({ name: 'k', scopes: ['orders:read'] })
    const res = await request(expressApp(elsewhere))
      .post('/auth/token')
      .send({ api_key: record.key, api_secret: secret })
    await expectUnavailable(
      () => request(app).get('/v1/orders').set('authorization', `Bearer ${res.body.access_token}`),
      'bearer',
    )

    await redis.start()
    await waitUntil('ioredis connects', () => client.status === 'ready', { timeoutMs: 15_000 })
    const key = await apimw.keys.create({ name: 'k', scopes: ['orders:read'] })
    const issued = await tokenRequest(key.record.key, key.secret).expect(200)
    await request(app)
      .get('/v1/orders')
      .set('authorization', `Bearer ${issued.body.access_token}`)
      .expect(200)
  })

  it('answers 503 after commandTimeoutMs when Redis stops answering, then serves again', async () => {
    await redis.start()
    open(300)
    const { record, secret } = await apimw.keys.create({ name: 'k', scopes: ['orders:read'] })
    const issued = await tokenRequest(record.key, secret).expect(200)
    const bearer = () =>
      request(app).get('/v1/orders').set('authorization', `Bearer ${issued.body.access_token}`)
    // The connection stays up but no command is answered for 2 s: only the timeout can help.
    const admin = new Redis(redis.url)
    try {
      await admin.call('CLIENT', 'PAUSE', 2_000, 'ALL')
    } finally {
      admin.disconnect()
    }
    const started = performance.now()
    const [token, guarded] = await Promise.all([tokenRequest(record.key, secret), bearer()])
    const elapsed = performance.now() - started
    for (const res of [token, guarded]) {
      expect(res.status).toBe(503)
      expect(res.body.error).toBe('temporarily_unavailable')
      expect(res.headers['retry-after']).toBe('1')
    }
    expect(guarded.headers['www-authenticate']).toBeUndefined()
    console.log(`[outage] redis not answering: 503 after ${elapsed.toFixed(0)} ms (timeout 300 ms)`)
    expect(elapsed).toBeLessThan(FAST_MS)
    await waitUntil('Redis answers again', async () => (await bearer()).status === 200, {
      timeoutMs: 10_000,
      intervalMs: 50,
    })
  })

  it('the change feed subscribes again after a restart', async () => {
    await redis.start()
    // Default cacheTtl and a frozen clock: only a notification can make A see B's change.
    const a = instance()
    const b = instance()
    await feedReady(a.store, b.store)
    const { record, secret } = await a.apimw.keys.create({ name: 'k', scopes: ['orders:read'] })
    const res = await request(expressApp(a.apimw))
      .post('/auth/token')
      .send({ api_key: record.key, api_secret: secret })
    const token = res.body.access_token as string
    expect(await guardStatus(a.apimw, token)).toBe(200)

    await a.client.call('SAVE')
    await redis.kill()
    await redis.start()
    await feedReady(a.store, b.store)
    const since = performance.now()
    await b.apimw.keys.revoke(record.key)
    await waitUntil('A refuses', async () => (await guardStatus(a.apimw, token)) === 401)
    console.log(
      `[propagation] redis after a restart: A refused ${(performance.now() - since).toFixed(1)} ms after B's revoke`,
    )
  })
})
