import type { Apimw, ApimwStore, AuditEvent } from '@apimw/core'
import { createMemoryStore } from '@apimw/core'
import { apimwAuth, requireBearer } from '@apimw/express'
import express from 'express'
import type { Response } from 'supertest'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createFixture } from '../support/fixture.js'

function app(apimw: Apimw) {
  const server = express()
  server.use(apimwAuth(apimw))
  server.get('/v1/me', requireBearer(), (req, res) => {
    const { token: _token, ...auth } = req.auth!
    res.json(auth)
  })
  server.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (_req, res) => {
    res.json({ orders: [] })
  })
  return server
}

/** A memory store whose `keys.get` can be made to fail, as an unreachable database would. */
function flakyStore(): { store: ApimwStore; setDown(down: boolean): void } {
  const base = createMemoryStore()
  let down = false
  const keys = Object.create(base.keys) as ApimwStore['keys']
  keys.get = (key) =>
    down ? Promise.reject(new Error('connect ECONNREFUSED 10.9.8.7:5432')) : base.keys.get(key)
  return {
    store: { ...base, keys },
    setDown: (value) => {
      down = value
    },
  }
}

/** Everything written to the console or the process streams while capturing. */
function captureOutput() {
  const written: string[] = []
  const record = (...args: unknown[]) => {
    written.push(
      args
        .map((a) =>
          a instanceof Error ? `${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a),
        )
        .join(' '),
    )
  }
  const spies = [
    ...(['log', 'error', 'warn', 'info', 'debug', 'trace'] as const).map((name) =>
      vi.spyOn(console, name).mockImplementation(record),
    ),
    ...[process.stdout, process.stderr].map((stream) =>
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
        return true
      }),
    ),
  ]
  return {
    written,
    restore: () => {
      for (const spy of spies) spy.mockRestore()
    },
  }
}

const basic = (key: string, secret: string) =>
  `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`

describe('no secret or token ever leaves through audit, error bodies or logs', () => {
  let output: ReturnType<typeof captureOutput> | undefined
  afterEach(() => output?.restore())

  it('over a whole key lifetime: issue, refresh, reuse, revoke, failures, rotation, revocation', async () => {
    const flaky = flakyStore()
    const sunk: AuditEvent[] = []
    const f = createFixture(app, {
      store: flaky.store,
      audit: [flaky.store.audit, { write: (event) => void sunk.push(structuredClone(event)) }],
      usageFlushInterval: 1,
    })
    output = captureOutput()
    const secrets: string[] = []
    const failures: Response[] = []
    const expectFailure = (res: Response, status: number) => {
      expect(res.status).toBe(status)
      failures.push(res)
    }
    const http = f.http

    // Key creation: the secret exists only in the return value.
    const created = await f.apimw.keys.create({ name: 'billing', scopes: ['orders:read'] })
    const key = created.record.key
    const secret1 = created.secret
    secrets.push(secret1)
    expect(JSON.stringify(await f.apimw.keys.get(key))).not.toContain(secret1)

    // Tokens by form body and by Basic.
    const t1 = await http()
      .post('/auth/token')
      .type('form')
      .send({ api_key: key, api_secret: secret1 })
    const t2 = await http().post('/auth/token').set('authorization', basic(key, secret1))
    expect([t1.status, t2.status]).toEqual([200, 200])
    secrets.push(
      t1.body.access_token,
      t1.body.refresh_token,
      t2.body.access_token,
      t2.body.refresh_token,
    )
    const me = await http().get('/v1/me').set('authorization', `Bearer ${t1.body.access_token}`)
    expect(me.status).toBe(200)
    expect(JSON.stringify(me.body)).not.toContain(t1.body.access_token)

    // Refresh, then reuse of the spent refresh token (revokes the family).
    const r1 = await http().post('/auth/refresh').send({ refresh_token: t1.body.refresh_token })
    expect(r1.status).toBe(200)
    secrets.push(r1.body.access_token, r1.body.refresh_token)
    expectFailure(
      await http()
        .post('/auth/token')
        .send({ grant_type: 'refresh_token', refresh_token: t1.body.refresh_token }),
      400,
    )
    expectFailure(
      await http().post('/auth/refresh').send({ refresh_token: r1.body.refresh_token }),
      400,
    )

    // Revocation of an access token and a refresh token; the revoked access token is refused.
    expect((await http().post('/auth/revoke').send({ token: t2.body.access_token })).status).toBe(
      200,
    )
    expect(
      (
        await http()
          .post('/auth/revoke')
          .send({ token: t2.body.refresh_token, token_type_hint: 'refresh_token' })
      ).status,
    ).toBe(200)
    expectFailure(
      await http().get('/v1/me').set('authorization', `Bearer ${t2.body.access_token}`),
      401,
    )
    expectFailure(
      await http().post('/auth/refresh').send({ refresh_token: t2.body.refresh_token }),
      400,
    )

    // Failures with the secret or tokens in the wrong place.
    const access = r1.body.access_token as string
    const [header, payload, signature] = access.split('.')
    const tampered = `${header}.${payload}.${signature?.slice(0, -4)}AAAA`
    expectFailure(
      await http()
        .post('/auth/token')
        .send({ api_key: key, api_secret: `${secret1}x` }),
      401,
    )
    expectFailure(
      await http()
        .post('/auth/token')
        .set('authorization', basic(key, `x${secret1}`)),
      401,
    )
    expectFailure(
      await http().post('/auth/token').send({ api_key: secret1, api_secret: secret1 }),
      401,
    )
    expectFailure(
      await http().post('/auth/token').send({ client_id: key, client_secret: access }),
      401,
    )
    expectFailure(await http().post('/auth/token').send({ api_key: key }), 400)
    expectFailure(
      await http()
        .post('/auth/token')
        .type('form')
        .send(`api_key=${key}&api_secret=${secret1}&api_secret=${secret1}`),
      400,
    )
    expectFailure(
      await http()
        .post('/auth/token')
        .set('content-type', 'text/plain')
        .send(`api_key=${key}&api_secret=${secret1}`),
      400,
    )
    expectFailure(
      await http()
        .post('/auth/token')
        .type('json')
        .send(`{"api_key":"${key}","api_secret":"${secret1}"`),
      400,
    )
    expectFailure(
      await http().post('/auth/token').send({ api_key: key, api_secret: secret1, scope: 'admin' }),
      400,
    )
    expectFailure(
      await http()
        .post('/auth/token')
        .send({ grant_type: 'password', api_key: key, api_secret: secret1 }),
      400,
    )
    expectFailure(await http().post('/auth/refresh').send({ refresh_token: access }), 400)
    expectFailure(
      await http()
        .post('/auth/refresh')
        .send({ refresh_token: `${t1.body.refresh_token}x` }),
      400,
    )
    expectFailure(await http().get('/v1/me').set('authorization', `Bearer ${tampered}`), 401)
    expectFailure(await http().get('/v1/me').set('authorization', `Bearer ${signature}`), 401)
    expectFailure(
      await http().get('/v1/me').set('authorization', `Bearer ${t1.body.refresh_token}`),
      401,
    )
    expectFailure(await http().get('/v1/me').set('authorization', basic(key, secret1)), 400)
    expectFailure(await http().get(`/v1/me?access_token=${access}`), 400)
    expectFailure(
      await http().get('/v1/me').set('authorization', `Bearer ${access} ${access}`),
      400,
    )

    // A store failure is reported (default onError writes to the console) and answered 503.
    flaky.setDown(true)
    f.clock.advance(6)
    expectFailure(await http().post('/auth/token').send({ api_key: key, api_secret: secret1 }), 503)
    expectFailure(await http().get('/v1/me').set('authorization', `Bearer ${access}`), 503)
    flaky.setDown(false)

    // Brute force: 10 wrong secrets, then the right one is refused too.
    for (let i = 0; i < 10; i++) {
      expectFailure(
        await http()
          .post('/auth/token')
          .send({ api_key: key, api_secret: `${secret1}${i}` }),
        401,
      )
    }
    expectFailure(await http().post('/auth/token').send({ api_key: key, api_secret: secret1 }), 429)
    f.clock.advance(900)

    // Rotation without a grace period: the old secret fails, the new one works.
    const rotated = await f.apimw.keys.rotate(key, { graceSeconds: 0 })
    secrets.push(rotated.secret)
    expect(JSON.stringify(rotated.record)).not.toContain(rotated.secret)
    expectFailure(await http().post('/auth/token').send({ api_key: key, api_secret: secret1 }), 401)
    const t3 = await http().post('/auth/token').set('authorization', basic(key, rotated.secret))
    expect(t3.status).toBe(200)
    secrets.push(t3.body.access_token, t3.body.refresh_token)
    expect(
      (await http().get('/v1/orders').set('authorization', `Bearer ${t3.body.access_token}`))
        .status,
    ).toBe(200)

    // Expiry, then revocation of the key: everything it issued stops working.
    f.clock.advance(3600 + 6)
    expectFailure(
      await http().get('/v1/me').set('authorization', `Bearer ${t3.body.access_token}`),
      401,
    )
    const t4 = await http().post('/auth/refresh').send({ refresh_token: t3.body.refresh_token })
    expect(t4.status).toBe(200)
    secrets.push(t4.body.access_token, t4.body.refresh_token)
    await f.apimw.keys.revoke(key)
    expectFailure(
      await http().post('/auth/refresh').send({ refresh_token: t4.body.refresh_token }),
      400,
    )
    expectFailure(
      await http().get('/v1/me').set('authorization', `Bearer ${t4.body.access_token}`),
      401,
    )
    expectFailure(
      await http().post('/auth/token').set('authorization', basic(key, rotated.secret)),
      401,
    )
    await f.apimw.close()

    output.restore()
    const stored = await f.auditEvents()
    const haystacks: Record<string, string> = {
      'audit (store)': JSON.stringify(stored),
      'audit (sink)': JSON.stringify(sunk),
      'failure responses': JSON.stringify(
        failures.map((res) => ({ status: res.status, headers: res.headers, body: res.text })),
      ),
      'console and process output': output.written.join('\n'),
    }

    // The captures are real: each holds what this flow must have put there.
    const types = new Set(stored.map((e) => e.type))
    for (const type of [
      'key.created',
      'key.rotated',
      'key.revoked',
      'token.issued',
      'token.refreshed',
      'token.revoked',
      'auth.failed',
      'refresh.reused',
      'request.denied',
      'request.allowed',
      'store.failed',
    ]) {
      expect(types, type).toContain(type)
    }
    expect(sunk).toEqual(stored)
    expect(failures).toHaveLength(40)
    expect(haystacks['failure responses']).toContain('invalid_client')
    expect(haystacks['failure responses']).toContain(
      'Bearer realm=\\"apimw\\", error=\\"invalid_token\\"',
    )
    expect(output.written.join('\n')).toContain('apimw: Error: connect ECONNREFUSED')

    const needles = [...new Set(secrets)]
    expect(needles).toHaveLength(12)
    for (const needle of needles) {
      expect(needle.length).toBeGreaterThanOrEqual(43)
      const parts = needle.split('.')
      const forms = parts.length === 3 ? [needle, parts[2]!] : [needle]
      for (const [where, text] of Object.entries(haystacks)) {
        for (const form of forms) {
          expect(text.includes(form), `${where} contains a secret or token`).toBe(false)
          expect(
            text.includes(encodeURIComponent(form)),
            `${where} contains an encoded secret or token`,
          ).toBe(false)
        }
      }
    }
  })
})
