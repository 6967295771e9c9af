/**
 * Two real server processes (fixtures/server.ts, Express) sharing one Redis prefix, then one
 * PostgreSQL schema; a third party in this process (a `createApimw` on the same store, standing in
 * for the CLI) manages keys. Every process runs on the same frozen clock, so a cached answer can
 * only change through a notification; the documented bound without one is cacheTtl (5 s).
 */
import type { Apimw } from '@apimw/core'
import { createApimw } from '@apimw/core'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import type { Namespace } from './support/backends.js'
import { backends } from './support/backends.js'
import { FROZEN, frozenClock } from './support/instances.js'
import type { ServerProcess } from './support/server-process.js'
import { startServer } from './support/server-process.js'
import { waitUntil } from './support/wait.js'

/** The documented bound for another process's change: cacheTtl (5 s by default). */
const BOUND_MS = 5_000

describe.each(backends)('two server processes on $name', { timeout: 60_000 }, (backend) => {
  let ns: Namespace | undefined
  let servers: ServerProcess[] = []
  let third: Apimw | undefined

  afterEach(async () => {
    await Promise.all(servers.map((server) => server.stop()))
    servers = []
    await third?.close()
    third = undefined
    await ns?.cleanup()
    ns = undefined
  })

  /** Servers A and B and the third party, all on one fresh namespace; the schema migrated first. */
  async function setup() {
    ns = backend.namespace()
    const opened = ns.open()
    third = createApimw({ store: opened.store, clock: frozenClock })
    const key = await third.keys.create({ name: 'k', scopes: ['orders:read'] })
    const env = { ...ns.env, TEST_NOW: FROZEN.toISOString() }
    // Each one is kept as soon as it runs, so afterEach stops it even if the other fails to start.
    const started = await Promise.allSettled(
      [env, env].map(async (e) => {
        const server = await startServer(e)
        servers.push(server)
      }),
    )
    const failed = started.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    const [a, b] = servers.map((server) => server.url)
    if (!a || !b) throw new Error('unreachable')
    return { a, b, third, key: key.record.key, secret: key.secret }
  }

  const token = (url: string, key: string, secret: string) =>
    request(url).post('/auth/token').send({ api_key: key, api_secret: secret })
  const refresh = (url: string, refreshToken: string) =>
    request(url).post('/auth/refresh').send({ refresh_token: refreshToken })
  const me = (url: string, accessToken: string) =>
    request(url).get('/v1/me').set('authorization', `Bearer ${accessToken}`)

  it('a token issued by A verifies on B', async () => {
    const { a, b, key, secret } = await setup()
    const issued = await token(a, key, secret).expect(200)
    const onA = await me(a, issued.body.access_token).expect(200)
    const onB = await me(b, issued.body.access_token).expect(200)
    expect(onB.body.keyId).toBe(key)
    expect(onB.body.pid).not.toBe(onA.body.pid)
  })

  it('refresh on A, then reuse of the old refresh token on B: invalid_grant, family revoked on both', async () => {
    const { a, b, key, secret, third } = await setup()
    const first = await token(a, key, secret).expect(200)
    const rotated = await refresh(a, first.body.refresh_token).expect(200)

    const reused = await refresh(b, first.body.refresh_token)
    expect(reused.status).toBe(400)
    expect(reused.body.error).toBe('invalid_grant')
    // The token from the legitimate rotation died with its family, on both instances.
    for (const url of [a, b]) {
      const res = await refresh(url, rotated.body.refresh_token)
      expect(res.status).toBe(400)
      expect(res.body.error).toBe('invalid_grant')
    }
    const events = await third.options.store.audit.tail({ keyId: key, limit: 50 })
    expect(events.filter((event) => event.type === 'refresh.reused')).toHaveLength(1)
  })

  it('a key revoked by a third party is refused by both within the documented bound', async () => {
    const { a, b, key, secret, third } = await setup()
    const fromA = (await token(a, key, secret).expect(200)).body.access_token as string
    const fromB = (await token(b, key, secret).expect(200)).body.access_token as string
    for (const url of [a, b]) {
      await me(url, fromA).expect(200)
      await me(url, fromB).expect(200)
    }
    const started = performance.now()
    await third.keys.revoke(key)
    const returned = performance.now()
    const delays = await Promise.all(
      [a, b].map(async (url) => {
        await waitUntil(
          `refused on ${url}`,
          async () =>
            (await me(url, fromA)).status === 401 && (await me(url, fromB)).status === 401,
          { timeoutMs: BOUND_MS, intervalMs: 5 },
        )
        return performance.now() - started
      }),
    )
    console.log(
      `[propagation] ${backend.name}, two processes: third-party revoke refused on A after ` +
        `${delays[0]?.toFixed(1)} ms, on B after ${delays[1]?.toFixed(1)} ms ` +
        `(the revoke call took ${(returned - started).toFixed(1)} ms)`,
    )
    const res = await me(a, fromA)
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/)
    await token(b, key, secret).expect(401)
  })

  it('brute-force limits hold across instances: 10 failures spread over A and B give 429 on both', async () => {
    const { a, b, key, secret } = await setup()
    for (let failure = 1; failure <= 10; failure++) {
      const url = failure % 2 === 0 ? b : a
      const res = await token(url, key, 'wrong-secret')
      expect(res.status, `failure ${failure} on ${url === a ? 'A' : 'B'}`).toBe(401)
      expect(res.body.error).toBe('invalid_client')
    }
    for (const url of [a, b]) {
      const res = await token(url, key, secret) // the right secret: still limited
      expect(res.status).toBe(429)
      expect(res.body.error).toBe('too_many_requests')
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
    }
  })
})
