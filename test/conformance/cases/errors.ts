import type { IncomingHttpHeaders, RequestListener } from 'node:http'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ApimwOptions, ApimwStore } from '@apimw/core'
import { createMemoryStore } from '@apimw/core'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { contractHeaders, JSON_NO_STORE } from '../../support/contract-headers.js'
import type { Fixture } from '../../support/fixture.js'
import { createFixture } from '../../support/fixture.js'
import type { AdapterHarness } from '../harness.js'

/** A human description: one short printable line, never a stack trace. */
const DESCRIPTION = expect.stringMatching(/^[\x20-\x7e]{1,200}$/)
const INVALID_REQUEST = { error: 'invalid_request', error_description: DESCRIPTION }
const INVALID_CLIENT = {
  error: 'invalid_client',
  error_description: 'client authentication failed',
}
const TOO_MANY = { error: 'too_many_requests', error_description: DESCRIPTION }
const UNAVAILABLE = {
  error: 'temporarily_unavailable',
  error_description: 'the service is temporarily unavailable',
}
const BODY_LIMIT = 16 * 1024

const WIRE_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'too_many_requests',
  'unauthorized',
  'invalid_token',
  'insufficient_scope',
  'temporarily_unavailable',
]

type Credential = { key: string; secret: string }

// ---------------------------------------------------------------------------------------------
// A raw HTTP client: exact bytes, chunked bodies, headers supertest would rewrite.

interface RawRequest {
  method: string
  path: string
  headers?: Record<string, string>
  /** Sent as one body with Content-Length. */
  body?: Buffer
  /** Sent with Transfer-Encoding: chunked, one write per chunk. */
  chunks?: Buffer[]
}

interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  text: string
}

type Send = (request: RawRequest) => Promise<RawResponse>

/** Serves `listener` on an ephemeral port for the duration of `run`. */
async function withServer<T>(
  listener: RequestListener,
  run: (send: Send) => Promise<T>,
): Promise<T> {
  const server = createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const send: Send = ({ method, path, headers = {}, body, chunks }) =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method, path, headers, agent: false },
        (res) => {
          const parts: Buffer[] = []
          res.on('data', (chunk: Buffer) => parts.push(chunk))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(parts).toString('utf8'),
            }),
          )
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      if (chunks) {
        for (const chunk of chunks) req.write(chunk)
        req.end()
      } else {
        req.end(body)
      }
    })
  try {
    return await run(send)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

// ---------------------------------------------------------------------------------------------
// A store that fails on demand, as a database or Redis that went away would.

const STORE_ERROR_MESSAGE = 'connect ECONNREFUSED 10.9.8.7:5432 (postgres://apimw:hunter2@db/apimw)'

interface BreakableStore {
  store: ApimwStore
  /** Makes `part.method` (e.g. `keys.get`) reject until `recover()`. */
  fail(...methods: string[]): void
  recover(): void
}

function breakableStore(base: ApimwStore = createMemoryStore()): BreakableStore {
  const broken = new Set<string>()
  const wrap = <T extends object>(part: string, target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver)
        if (typeof value !== 'function') return value
        const name = `${part}.${String(property)}`
        return (...args: unknown[]) =>
          broken.has(name)
            ? Promise.reject(new Error(STORE_ERROR_MESSAGE))
            : (value as (...a: unknown[]) => unknown).apply(object, args)
      },
    })
  const store: ApimwStore = {
    keys: wrap('keys', base.keys),
    signingKeys: wrap('signingKeys', base.signingKeys),
    refreshTokens: wrap('refreshTokens', base.refreshTokens),
    revocations: wrap('revocations', base.revocations),
    counters: wrap('counters', base.counters),
    audit: base.audit,
  }
  return {
    store,
    fail: (...methods) => {
      for (const method of methods) broken.add(method)
    },
    recover: () => broken.clear(),
  }
}

// ---------------------------------------------------------------------------------------------

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

/** POST /auth/token with a body credential; `headers` e.g. X-Forwarded-For. */
const tokenWith = (f: Fixture, cred: Credential, headers: Record<string, string> = {}) =>
  f.http().post('/auth/token').set(headers).send({ api_key: cred.key, api_secret: cred.secret })

const wrongSecret = (cred: Credential): Credential => ({ key: cred.key, secret: `${cred.secret}x` })

/** CONTRACT §2 body rules and error rows, brute-force limits and store failures; fuzzing at the end. */
export function errorCases(h: AdapterHarness): void {
  describe('request bodies', () => {
    it.each([
      [
        'application/x-www-form-urlencoded',
        (c: Credential) => form({ api_key: c.key, api_secret: c.secret }),
      ],
      [
        'application/json',
        (c: Credential) => JSON.stringify({ api_key: c.key, api_secret: c.secret }),
      ],
      [
        'application/json; charset=utf-8',
        (c: Credential) => JSON.stringify({ api_key: c.key, api_secret: c.secret }),
      ],
      [
        'Application/X-WWW-Form-URLEncoded; charset=UTF-8',
        (c: Credential) => form({ api_key: c.key, api_secret: c.secret }),
      ],
    ])('accepts a %s body', async (type, body) => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const res = await f.http().post('/auth/token').set('content-type', type).send(body(cred))
      expect(res.status).toBe(200)
      expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
      expect(res.body.token_type).toBe('Bearer')
    })

    it.each([
      ['text/plain', (c: Credential) => form({ api_key: c.key, api_secret: c.secret })],
      [
        'application/xml',
        (c: Credential) => `<r><api_key>${c.key}</api_key><api_secret>${c.secret}</api_secret></r>`,
      ],
      [
        'multipart/form-data; boundary=XyZ',
        (c: Credential) =>
          `--XyZ\r\nContent-Disposition: form-data; name="api_key"\r\n\r\n${c.key}\r\n--XyZ\r\nContent-Disposition: form-data; name="api_secret"\r\n\r\n${c.secret}\r\n--XyZ--\r\n`,
      ],
      [
        'application/jsonx',
        (c: Credential) => JSON.stringify({ api_key: c.key, api_secret: c.secret }),
      ],
    ])(
      'refuses a %s body with invalid_request even when it holds a valid credential',
      async (type, body) => {
        const f = createFixture(h.listener)
        const cred = await f.createKey()
        const res = await f.http().post('/auth/token').set('content-type', type).send(body(cred))
        expect(res.status).toBe(400)
        expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
        expect(res.body).toEqual(INVALID_REQUEST)
        const events = await f.auditEvents()
        expect(events.some((e) => e.type === 'token.issued')).toBe(false)
        expect(events.filter((e) => e.type === 'auth.failed')).toMatchObject([
          { reason: 'malformed_request' },
        ])
      },
    )

    it('refuses a non-empty body without a content type', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      await withServer(h.listener(f.apimw), async (send) => {
        const res = await send({
          method: 'POST',
          path: '/auth/token',
          body: Buffer.from(form({ api_key: cred.key, api_secret: cred.secret })),
        })
        expect(res.status).toBe(400)
        expect(JSON.parse(res.text)).toEqual(INVALID_REQUEST)
      })
    })

    it('accepts an empty body without a content type (then the credential must come from elsewhere)', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      await withServer(h.listener(f.apimw), async (send) => {
        const missing = await send({
          method: 'POST',
          path: '/auth/token',
          headers: { 'content-length': '0' },
        })
        expect(missing.status).toBe(400)
        expect(contractHeaders(missing)).toEqual(JSON_NO_STORE)
        expect(JSON.parse(missing.text)).toEqual({
          error: 'invalid_request',
          error_description: 'client credentials are required',
        })
        const basic = Buffer.from(`${cred.key}:${cred.secret}`).toString('base64')
        const ok = await send({
          method: 'POST',
          path: '/auth/token',
          headers: { authorization: `Basic ${basic}` },
        })
        expect(ok.status).toBe(200)
        expect(JSON.parse(ok.text).scope).toBe('orders:read orders:write')
      })
    })

    it('accepts a JSON body of exactly 16 KiB and refuses one byte more with 413', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const sized = (size: number) => {
        const base = JSON.stringify({ api_key: cred.key, api_secret: cred.secret, pad: '' })
        return `${base.slice(0, -2)}${'x'.repeat(size - base.length)}"}`
      }
      expect(Buffer.byteLength(sized(BODY_LIMIT))).toBe(BODY_LIMIT)
      const exact = await f.http().post('/auth/token').type('json').send(sized(BODY_LIMIT))
      expect(exact.status).toBe(200)
      const over = await f
        .http()
        .post('/auth/token')
        .type('json')
        .send(sized(BODY_LIMIT + 1))
      expect(over.status).toBe(413)
      expect(contractHeaders(over)).toEqual(JSON_NO_STORE)
      expect(over.body).toEqual(INVALID_REQUEST)
      const failed = (await f.auditEvents()).filter((e) => e.type === 'auth.failed')
      expect(failed).toMatchObject([{ reason: 'payload_too_large' }])
    })

    it('refuses a form body over 16 KiB with 413', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const body = form({ api_key: cred.key, api_secret: cred.secret, pad: 'x'.repeat(BODY_LIMIT) })
      const res = await f.http().post('/auth/token').type('form').send(body)
      expect(res.status).toBe(413)
      expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
      expect(res.body).toEqual(INVALID_REQUEST)
    })

    it.each(['/auth/token', '/auth/refresh', '/auth/revoke'])(
      'refuses a chunked body over 16 KiB without Content-Length at %s with 413',
      async (path) => {
        const f = createFixture(h.listener)
        await withServer(h.listener(f.apimw), async (send) => {
          const chunk = Buffer.from('x'.repeat(4096))
          const res = await send({
            method: 'POST',
            path,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            chunks: [Buffer.from('pad='), ...Array.from({ length: 5 }, () => chunk)],
          })
          expect(res.status).toBe(413)
          expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
          expect(JSON.parse(res.text)).toEqual(INVALID_REQUEST)
        })
      },
    )

    it('reads a small chunked body without Content-Length', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      await withServer(h.listener(f.apimw), async (send) => {
        const body = JSON.stringify({ api_key: cred.key, api_secret: cred.secret })
        const res = await send({
          method: 'POST',
          path: '/auth/token',
          headers: { 'content-type': 'application/json' },
          chunks: [
            Buffer.from(body.slice(0, 10)),
            Buffer.from(body.slice(10, 40)),
            Buffer.from(body.slice(40)),
          ],
        })
        expect(res.status).toBe(200)
        expect(JSON.parse(res.text).token_type).toBe('Bearer')
      })
    })

    it('refuses a body that is not UTF-8', async () => {
      const f = createFixture(h.listener)
      const res = await f
        .http()
        .post('/auth/token')
        .set('content-type', 'application/json')
        .send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))
      expect(res.status).toBe(400)
      expect(res.body).toEqual(INVALID_REQUEST)
    })
  })

  describe('repeated and mistyped parameters', () => {
    it.each([
      [
        'a repeated form field',
        'application/x-www-form-urlencoded',
        (c: Credential) => `api_key=${c.key}&api_secret=wrong&api_secret=${c.secret}`,
      ],
      [
        'a repeated form field with the same value',
        'application/x-www-form-urlencoded',
        (c: Credential) =>
          `grant_type=client_credentials&grant_type=client_credentials&api_key=${c.key}&api_secret=${c.secret}`,
      ],
      [
        'a JSON member given twice',
        'application/json',
        (c: Credential) => `{"api_key":"${c.key}","api_secret":"wrong","api_secret":"${c.secret}"}`,
      ],
      [
        'a JSON member given twice, once escaped',
        'application/json',
        (c: Credential) =>
          `{"api_key":"${c.key}","api_secret":"wrong","api\\u005fsecret":"${c.secret}"}`,
      ],
      [
        'a JSON member given twice, the same value',
        'application/json',
        (c: Credential) =>
          `{ "api_key" : "${c.key}" , "api_key":"${c.key}", "api_secret":"${c.secret}" }`,
      ],
    ])(
      'refuses %s with invalid_request, even when the last value is right',
      async (_name, type, body) => {
        const f = createFixture(h.listener)
        const cred = await f.createKey()
        const res = await f.http().post('/auth/token').set('content-type', type).send(body(cred))
        expect(res.status).toBe(400)
        expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
        expect(res.body).toEqual(INVALID_REQUEST)
        expect(res.body.error_description).toMatch(/repeated/)
        expect((await f.auditEvents()).some((e) => e.type === 'token.issued')).toBe(false)
      },
    )

    it('allows the same member name in a nested JSON object once per object', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      // Nested members are not parameters: this fails on the type of "x", not as a duplicate.
      const body = `{"api_key":"${cred.key}","api_secret":"${cred.secret}","x":{"api_key":1}}`
      const res = await f.http().post('/auth/token').type('json').send(body)
      expect(res.status).toBe(400)
      expect(res.body).toEqual(INVALID_REQUEST)
      expect(res.body.error_description).not.toMatch(/repeated/)
    })

    it.each([
      ['a number', 12345],
      ['an array', ['x']],
      ['an object', { value: 'x' }],
      ['null', null],
      ['a boolean', true],
    ])('refuses a parameter that is %s with invalid_request', async (_name, value) => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      for (const body of [
        { api_key: cred.key, api_secret: value },
        { api_key: cred.key, api_secret: cred.secret, scope: value },
        { api_key: cred.key, api_secret: cred.secret, grant_type: value },
      ]) {
        const res = await f.http().post('/auth/token').type('json').send(JSON.stringify(body))
        expect(res.status).toBe(400)
        expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
        expect(res.body).toEqual(INVALID_REQUEST)
      }
      expect((await f.auditEvents()).some((e) => e.type === 'token.issued')).toBe(false)
    })

    it.each([
      [
        'a JSON array',
        (c: Credential) => JSON.stringify([{ api_key: c.key, api_secret: c.secret }]),
      ],
      ['a JSON string', () => '"api_key"'],
      ['JSON null', () => 'null'],
      ['invalid JSON', (c: Credential) => `{"api_key":"${c.key}","api_secret":"${c.secret}"`],
      [
        'JSON with trailing garbage',
        (c: Credential) => `{"api_key":"${c.key}","api_secret":"${c.secret}"}x`,
      ],
    ])('refuses %s as a body with invalid_request', async (_name, body) => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const res = await f.http().post('/auth/token').type('json').send(body(cred))
      expect(res.status).toBe(400)
      expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
      expect(res.body).toEqual(INVALID_REQUEST)
    })

    it.each(['/auth/refresh', '/auth/revoke'])(
      'applies the same body rules at %s',
      async (path) => {
        const f = createFixture(h.listener)
        const cred = await f.createKey()
        const { refresh_token } = await f.token(cred)
        const name = path === '/auth/refresh' ? 'refresh_token' : 'token'
        const twice = await f
          .http()
          .post(path)
          .type('form')
          .send(`${name}=${refresh_token}&${name}=${refresh_token}`)
        expect(twice.status).toBe(400)
        expect(twice.body).toEqual(INVALID_REQUEST)
        const typed = await f
          .http()
          .post(path)
          .type('json')
          .send(JSON.stringify({ [name]: [refresh_token] }))
        expect(typed.status).toBe(400)
        expect(typed.body).toEqual(INVALID_REQUEST)
        const plain = await f
          .http()
          .post(path)
          .set('content-type', 'text/plain')
          .send(`${name}=${refresh_token}`)
        expect(plain.status).toBe(400)
        expect(plain.body).toEqual(INVALID_REQUEST)
        // None of these touched the token: it still refreshes.
        const ok = await f.http().post('/auth/refresh').send({ refresh_token })
        expect(ok.status).toBe(200)
      },
    )
  })

  describe('methods and unknown routes', () => {
    it.each([
      ['GET', '/auth/token', 'POST'],
      ['PUT', '/auth/token', 'POST'],
      ['DELETE', '/auth/refresh', 'POST'],
      ['GET', '/auth/revoke', 'POST'],
      ['POST', '/auth/jwks.json', 'GET'],
    ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
      const f = createFixture(h.listener)
      const res = await f.http()[method.toLowerCase() as 'get' | 'put' | 'delete' | 'post'](path)
      expect(res.status).toBe(405)
      expect(contractHeaders(res)).toEqual({ ...JSON_NO_STORE, allow })
      expect(res.body).toEqual({ error: 'invalid_request', error_description: `use ${allow}` })
    })

    it.each([
      ['GET', '/auth/xyz'],
      ['POST', '/auth/xyz'],
      ['POST', '/auth'],
      ['POST', '/auth/token/extra'],
      ['POST', '/authx/token'],
    ])('lets the framework answer %s %s (404, not an APIMW body)', async (method, path) => {
      const f = createFixture(h.listener)
      const res = await f
        .http()
        [method.toLowerCase() as 'get' | 'post'](path)
        .type('form')
        .send('a=b')
      expect(res.status).toBe(404)
      expect(res.headers['content-type'] ?? '').not.toMatch(/json/)
      expect(res.headers['www-authenticate']).toBeUndefined()
      expect(res.text).not.toMatch(/invalid_request|"error"/)
      expect((await f.auditEvents()).filter((e) => e.type !== 'key.created')).toEqual([])
    })
  })

  describe('brute-force limits', () => {
    it('limits one key from one IP after 10 invalid_client answers, the right secret included, until Retry-After', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      for (let i = 0; i < 10; i++) {
        const res = await tokenWith(f, wrongSecret(cred))
        expect(res.status).toBe(401)
        expect(res.body).toEqual(INVALID_CLIENT)
        f.clock.advance(1)
      }
      const limited = await tokenWith(f, cred)
      expect(limited.status).toBe(429)
      expect(contractHeaders(limited)).toEqual({ ...JSON_NO_STORE, 'retry-after': '890' })
      expect(limited.body).toEqual(TOO_MANY)
      const viaBasic = await f
        .http()
        .post('/auth/token')
        .set(
          'authorization',
          `Basic ${Buffer.from(`${cred.key}:${cred.secret}`).toString('base64')}`,
        )
      expect(viaBasic.status).toBe(429)
      expect(viaBasic.body).toEqual(TOO_MANY)
      expect(viaBasic.headers['www-authenticate']).toBeUndefined()
      // Wrong guesses while limited neither extend the window nor get a different answer.
      const guess = await tokenWith(f, wrongSecret(cred))
      expect(guess.status).toBe(429)
      expect(guess.body).toEqual(limited.body)
      f.clock.advance(889)
      const almost = await tokenWith(f, cred)
      expect(almost.status).toBe(429)
      expect(almost.headers['retry-after']).toBe('1')
      f.clock.advance(1)
      const after = await tokenWith(f, cred)
      expect(after.status).toBe(200)
      const events = await f.auditEvents()
      expect(events.filter((e) => e.type === 'auth.failed')).toHaveLength(10)
      expect(events.filter((e) => e.type === 'request.denied')).toMatchObject(
        Array.from({ length: 4 }, () => ({ keyId: cred.key, reason: 'rate_limited' })),
      )
      expect(events.filter((e) => e.type === 'token.issued')).toHaveLength(1)
    })

    it('keeps every Retry-After within the 15-minute window', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      for (let i = 0; i < 10; i++) await tokenWith(f, wrongSecret(cred))
      const res = await tokenWith(f, cred)
      expect(res.status).toBe(429)
      const retryAfter = Number(res.headers['retry-after'])
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 900).toBe(true)
    })

    it('does not limit other keys from the same IP, nor the same key from another IP', async () => {
      const f = createFixture(h.listener, { trustProxy: 'loopback' })
      const cred = await f.createKey()
      const other = await f.createKey()
      const ip = { 'x-forwarded-for': '198.51.100.1' }
      for (let i = 0; i < 10; i++)
        expect((await tokenWith(f, wrongSecret(cred), ip)).status).toBe(401)
      expect((await tokenWith(f, cred, ip)).status).toBe(429)
      expect((await tokenWith(f, other, ip)).status).toBe(200)
      expect((await tokenWith(f, cred, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200)
      expect((await tokenWith(f, wrongSecret(other), ip)).status).toBe(401)
    })

    it("resets the pair's count on a success before the limit", async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      for (let i = 0; i < 9; i++) expect((await tokenWith(f, wrongSecret(cred))).status).toBe(401)
      expect((await tokenWith(f, cred)).status).toBe(200)
      for (let i = 0; i < 10; i++) {
        const res = await tokenWith(f, wrongSecret(cred))
        expect(res.status).toBe(401)
        expect(res.body).toEqual(INVALID_CLIENT)
      }
      const limited = await tokenWith(f, cred)
      expect(limited.status).toBe(429)
      expect(limited.headers['retry-after']).toBe('900')
    })

    it('counts only invalid_client answers, not malformed requests', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      for (let i = 0; i < 12; i++) {
        const res = await f.http().post('/auth/token').send({ api_key: cred.key })
        expect(res.status).toBe(400)
      }
      expect((await tokenWith(f, cred)).status).toBe(200)
    })

    it('limits a key across IPs only at the much higher per-key threshold', async () => {
      const f = createFixture(h.listener, {
        trustProxy: 'loopback',
        rateLimit: { maxFailuresPerKey: 30 },
      })
      const cred = await f.createKey()
      const other = await f.createKey()
      const from = (n: number) => ({ 'x-forwarded-for': `198.51.100.${n}` })
      // 29 failures from four addresses: no pair reaches 10, the key stays below 30.
      for (const [n, count] of [
        [1, 9],
        [2, 9],
        [3, 9],
        [4, 2],
      ] as const) {
        for (let i = 0; i < count; i++)
          expect((await tokenWith(f, wrongSecret(cred), from(n))).status).toBe(401)
      }
      expect((await tokenWith(f, cred, from(50))).status).toBe(200)
      expect((await tokenWith(f, wrongSecret(cred), from(4))).status).toBe(401)
      // 30 failures: now the key is limited from every address that has not authenticated lately;
      // the owner's address, which has (198.51.100.50), keeps working.
      const limited = await tokenWith(f, cred, from(51))
      expect(limited.status).toBe(429)
      expect(contractHeaders(limited)).toEqual({ ...JSON_NO_STORE, 'retry-after': '900' })
      expect(limited.body).toEqual(TOO_MANY)
      expect((await tokenWith(f, cred, from(50))).status).toBe(200)
      expect((await tokenWith(f, other, from(1))).status).toBe(200)
      f.clock.advance(900)
      expect((await tokenWith(f, cred, from(51))).status).toBe(200)
    })

    it('counts an IPv6 client per /64, so guesses spread over one network hit the pair limit', async () => {
      const f = createFixture(h.listener, { trustProxy: 'loopback' })
      const cred = await f.createKey()
      for (let n = 1; n <= 10; n++) {
        const ip = { 'x-forwarded-for': `2001:db8:1:2::${n.toString(16)}` }
        expect((await tokenWith(f, wrongSecret(cred), ip)).status).toBe(401)
      }
      const sameNetwork = await tokenWith(f, cred, { 'x-forwarded-for': '2001:db8:1:2:ffff::1' })
      expect(sameNetwork.status).toBe(429)
      const otherNetwork = await tokenWith(f, cred, { 'x-forwarded-for': '2001:db8:1:3::1' })
      expect(otherNetwork.status).toBe(200)
    })

    it('never locks out an address that authenticated within the window, past the per-key limit', async () => {
      const f = createFixture(h.listener, {
        trustProxy: 'loopback',
        rateLimit: { maxFailuresPerKey: 20 },
      })
      const cred = await f.createKey()
      const owner = { 'x-forwarded-for': '203.0.113.7' }
      expect((await tokenWith(f, cred, owner)).status).toBe(200)
      for (let n = 1; n <= 20; n++) {
        await tokenWith(f, wrongSecret(cred), {
          'x-forwarded-for': `2001:db8:${n.toString(16)}::1`,
        })
      }
      expect((await tokenWith(f, cred, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(429)
      expect((await tokenWith(f, cred, owner)).status).toBe(200)
    })

    it('does not lock the owner out by default when guessers fail from many addresses', async () => {
      const f = createFixture(h.listener, { trustProxy: 'loopback' })
      const cred = await f.createKey()
      for (let n = 1; n <= 10; n++) {
        const ip = { 'x-forwarded-for': `198.51.100.${n}` }
        for (let i = 0; i < 10; i++) await tokenWith(f, wrongSecret(cred), ip)
        expect((await tokenWith(f, cred, ip)).status).toBe(429)
      }
      expect((await tokenWith(f, cred, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(200)
    })
  })

  describe('store failures', () => {
    async function setup(options: ApimwOptions = {}) {
      const breakable = breakableStore()
      const errors: unknown[] = []
      const f = createFixture(h.listener, {
        ...options,
        store: breakable.store,
        onError: (e) => errors.push(e),
      })
      const cred = await f.createKey()
      return { f, cred, errors, ...breakable }
    }

    function expectUnavailable(res: {
      status: number
      headers: Record<string, string>
      text: string
      body: unknown
    }) {
      expect(res.status).toBe(503)
      expect(contractHeaders(res)).toEqual({ ...JSON_NO_STORE, 'retry-after': '1' })
      expect(res.body).toEqual(UNAVAILABLE)
      expect(res.text).not.toMatch(/ECONNREFUSED|hunter2|postgres|at .*\.ts|Error/)
    }

    async function expectAudited(f: Fixture, errors: unknown[], count = 1) {
      expect(errors).toHaveLength(count)
      for (const error of errors) expect((error as Error).message).toBe(STORE_ERROR_MESSAGE)
      const failed = (await f.auditEvents()).filter((e) => e.type === 'store.failed')
      expect(failed).toMatchObject(
        Array.from({ length: count }, () => ({ reason: 'store_unavailable' })),
      )
      expect(JSON.stringify(failed)).not.toMatch(/ECONNREFUSED|hunter2/)
    }

    it.each([['keys.get'], ['counters.get'], ['refreshTokens.create']])(
      'answers client_credentials with 503 temporarily_unavailable when %s fails, then recovers',
      async (method) => {
        const { f, cred, errors, fail, recover } = await setup()
        fail(method)
        const res = await tokenWith(f, cred)
        expectUnavailable(res)
        await expectAudited(f, errors)
        expect((await f.auditEvents()).some((e) => e.type === 'token.issued')).toBe(false)
        recover()
        const ok = await tokenWith(f, cred)
        expect(ok.status).toBe(200)
      },
    )

    it('answers 503 when the signing keys cannot be read', async () => {
      const { f, cred, errors, fail, recover } = await setup()
      fail('signingKeys.list')
      expectUnavailable(await tokenWith(f, cred))
      await expectAudited(f, errors)
      const jwks = await f.http().get('/auth/jwks.json')
      expectUnavailable(jwks)
      recover()
      expect((await tokenWith(f, cred)).status).toBe(200)
      expect((await f.http().get('/auth/jwks.json')).status).toBe(200)
    })

    it('answers 503 for a wrong secret when the failure counter cannot be written (never 401 without counting)', async () => {
      const { f, cred, errors, fail } = await setup()
      fail('counters.increment')
      expectUnavailable(await tokenWith(f, wrongSecret(cred)))
      await expectAudited(f, errors)
    })

    it.each([['refreshTokens.find'], ['refreshTokens.rotate']])(
      'answers the refresh grant with 503 when %s fails, and the token still works afterwards',
      async (method) => {
        const { f, cred, errors, fail, recover } = await setup()
        const { refresh_token } = await f.token(cred)
        fail(method)
        const res = await f
          .http()
          .post('/auth/token')
          .send({ grant_type: 'refresh_token', refresh_token })
        expectUnavailable(res)
        const viaRefresh = await f.http().post('/auth/refresh').send({ refresh_token })
        expectUnavailable(viaRefresh)
        await expectAudited(f, errors, 2)
        recover()
        const ok = await f.http().post('/auth/refresh').send({ refresh_token })
        expect(ok.status).toBe(200)
        expect(ok.body.refresh_token).not.toBe(refresh_token)
      },
    )

    it.each([
      ['refreshTokens.revokeFamily', 'refresh'],
      ['refreshTokens.find', 'refresh'],
      ['revocations.revoke', 'access'],
      ['signingKeys.list', 'access'],
    ] as const)(
      'answers /auth/revoke with 503 when %s fails (never a silent 200)',
      async (method, kind) => {
        const { f, cred, errors, fail, recover } = await setup()
        const tokens = await f.token(cred)
        const token = kind === 'refresh' ? tokens.refresh_token : tokens.access_token
        // Past the cache bound (5 s): the signing keys must be read from the store again.
        f.clock.advance(6)
        fail(method)
        const res = await f.http().post('/auth/revoke').send({ token })
        expectUnavailable(res)
        await expectAudited(f, errors)
        recover()
        const ok = await f.http().post('/auth/revoke').send({ token })
        expect(ok.status).toBe(200)
        expect((await f.auditEvents()).filter((e) => e.type === 'token.revoked')).toHaveLength(1)
      },
    )

    it.each([
      ['revocations.isRevoked', 0],
      ['keys.get', 6],
      ['signingKeys.list', 6],
    ] as const)('fails closed on a guarded route with 503 when %s fails', async (method, wait) => {
      const { f, cred, errors, fail, recover } = await setup()
      const { access_token } = await f.token(cred)
      // Past the cache bound (5 s) where the decision is cached, so the guard must ask the store.
      f.clock.advance(wait)
      fail(method)
      const res = await f.http().get('/v1/me').set('authorization', `Bearer ${access_token}`)
      expectUnavailable(res)
      expect(res.headers['www-authenticate']).toBeUndefined()
      await expectAudited(f, errors)
      recover()
      const ok = await f.http().get('/v1/me').set('authorization', `Bearer ${access_token}`)
      expect(ok.status).toBe(200)
      expect(ok.body.keyId).toBe(cred.key)
    })

    it('hands the store error itself to onError', async () => {
      const { f, cred, errors, fail } = await setup()
      fail('keys.get')
      await tokenWith(f, cred)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toBeInstanceOf(Error)
      expect((errors[0] as Error).message).toBe(STORE_ERROR_MESSAGE)
    })

    it('by default writes one line with the name and message of the error, no stack', async () => {
      const breakable = breakableStore()
      const f = createFixture(h.listener, { store: breakable.store })
      const cred = await f.createKey()
      const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
      try {
        breakable.fail('keys.get')
        expectUnavailable(await tokenWith(f, cred))
        expect(spy.mock.calls).toEqual([
          [`apimw: Error: ${STORE_ERROR_MESSAGE.replace('hunter2', '***')}`],
        ])
      } finally {
        spy.mockRestore()
      }
    })
  })

  describe('fuzzing: random headers and bodies never cause a 5xx', () => {
    const headerChar = fc
      .oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.integer({ min: 0x80, max: 0xff }),
        fc.constant(0x09),
      )
      .map((code) => String.fromCharCode(code))
    const headerText = fc.string({ unit: headerChar, maxLength: 120 })
    const token68 = fc.string({
      unit: fc.constantFrom(...'ABCXYZabcxyz0189-._~+/='.split('')),
      maxLength: 80,
    })

    function arbitraries(real: { key: string; secret: string; access: string; refresh: string }) {
      const mutate = (text: string) =>
        fc
          .tuple(fc.nat(text.length - 1), fc.constantFrom('A', '_', '.', ''))
          .map(([i, c]) => `${text.slice(0, i)}${c}${text.slice(i + 1)}`)
      const authorization = fc.option(
        fc.oneof(
          headerText,
          token68.map((t) => `Bearer ${t}`),
          mutate(real.access).map((t) => `Bearer ${t}`),
          fc.constantFrom(
            `Bearer ${real.access}`,
            `bearer  ${real.access} `,
            'Bearer',
            'Bearer ',
            'Basic',
            'Basic =',
          ),
          fc
            .tuple(headerText, headerText)
            .map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`, 'latin1').toString('base64')}`),
          fc.constantFrom(`Basic ${Buffer.from(`${real.key}:${real.secret}`).toString('base64')}`),
          fc.uint8Array({ maxLength: 40 }).map((b) => `Basic ${Buffer.from(b).toString('base64')}`),
        ),
        { nil: undefined },
      )
      const contentType = fc.option(
        fc.oneof(
          fc.constantFrom(
            'application/json',
            'application/x-www-form-urlencoded',
            'application/json; charset=utf-8',
            'text/plain',
            'multipart/form-data; boundary=x',
            '',
          ),
          headerText,
        ),
        { nil: undefined },
      )
      const forwardedFor = fc.option(
        fc.oneof(
          headerText,
          fc
            .array(
              fc.oneof(
                fc.ipV4(),
                fc.ipV6(),
                fc.ipV4().map((ip) => `::ffff:${ip}`),
                headerText,
              ),
              { maxLength: 4 },
            )
            .map((ips) => ips.join(', ')),
        ),
        { nil: undefined },
      )
      const forwardedProto = fc.option(
        fc.oneof(fc.constantFrom('https', 'http', 'HTTPS, http'), headerText),
        { nil: undefined },
      )
      const value = fc.oneof(
        fc.string(),
        fc.constantFrom(
          real.key,
          real.secret,
          real.refresh,
          real.access,
          'client_credentials',
          'refresh_token',
          'orders:read',
        ),
        mutate(real.refresh),
      )
      const names = fc.constantFrom(
        'grant_type',
        'api_key',
        'api_secret',
        'client_id',
        'client_secret',
        'refresh_token',
        'token',
        'token_type_hint',
        'scope',
        '__proto__',
        'constructor',
      )
      const pairs = fc.array(fc.tuple(fc.oneof(names, fc.string()), value), { maxLength: 6 })
      const body = fc.option(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          fc.json({ maxDepth: 3 }).map((text) => Buffer.from(text)),
          fc.string({ unit: 'binary', maxLength: 200 }).map((text) => Buffer.from(text)),
          pairs.map((p) =>
            Buffer.from(
              p.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&'),
            ),
          ),
          pairs.map((p) =>
            Buffer.from(
              `{${p.map(([n, v]) => `${JSON.stringify(n)}:${JSON.stringify(v)}`).join(',')}}`,
            ),
          ),
          fc
            .dictionary(names, fc.oneof(value, fc.jsonValue({ maxDepth: 2 })))
            .map((o) => Buffer.from(JSON.stringify(o))),
        ),
        { nil: undefined },
      )
      return { authorization, contentType, forwardedFor, forwardedProto, body }
    }

    const target = fc.constantFrom(
      { method: 'POST', path: '/auth/token' },
      { method: 'POST', path: '/auth/refresh' },
      { method: 'POST', path: '/auth/revoke' },
      { method: 'GET', path: '/auth/jwks.json' },
      { method: 'GET', path: '/auth/token' },
      { method: 'GET', path: '/v1/me' },
      { method: 'GET', path: '/v1/me?access_token=x' },
      { method: 'GET', path: '/v1/orders' },
    )

    const AUTH_STATUSES = [200, 400, 401, 403, 405, 413, 429]
    const GUARD_STATUSES = [200, 400, 401, 403]

    function expectWellFormed(path: string, res: RawResponse) {
      expect(res.status).toBeLessThan(500)
      const body = JSON.parse(res.text) as Record<string, unknown>
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      if (path.startsWith('/auth/')) {
        expect(AUTH_STATUSES).toContain(res.status)
        expect(res.headers['cache-control']).toMatch(/^(no-store|public, max-age=300)$/)
      } else {
        expect(GUARD_STATUSES).toContain(res.status)
      }
      if (res.status >= 400) {
        expect(WIRE_CODES).toContain(body.error)
        expect(typeof body.error_description).toBe('string')
        expect(res.text).not.toMatch(/\n {4}at /)
      }
    }

    for (const [name, options] of [
      ['HTTPS required, loopback proxy trusted', { requireHttps: true, trustProxy: 'loopback' }],
      ['defaults', {}],
    ] as const) {
      it(`answers random requests with a contract status and JSON body (${name})`, async () => {
        const f = createFixture(h.listener, options)
        const real = await f.createKey({ allowedIps: ['203.0.113.0/24', '127.0.0.1', '::1'] })
        const issued = await tokenWith(f, real, { 'x-forwarded-proto': 'https' })
        expect(issued.status).toBe(200)
        const tokens = issued.body as { access_token: string; refresh_token: string }
        const a = arbitraries({
          ...real,
          access: tokens.access_token,
          refresh: tokens.refresh_token,
        })
        await withServer(h.listener(f.apimw), async (send) => {
          await fc.assert(
            fc.asyncProperty(
              target,
              a.authorization,
              a.contentType,
              a.forwardedFor,
              a.forwardedProto,
              a.body,
              async (
                { method, path },
                authorization,
                contentType,
                forwardedFor,
                forwardedProto,
                body,
              ) => {
                const headers: Record<string, string> = {}
                if (authorization !== undefined) headers.authorization = authorization
                if (contentType !== undefined) headers['content-type'] = contentType
                if (forwardedFor !== undefined) headers['x-forwarded-for'] = forwardedFor
                if (forwardedProto !== undefined) headers['x-forwarded-proto'] = forwardedProto
                const res = await send({
                  method,
                  path,
                  headers,
                  body: method === 'GET' ? undefined : body,
                })
                expectWellFormed(path, res)
              },
            ),
            { numRuns: 200 },
          )
        })
      })
    }
  })
}
