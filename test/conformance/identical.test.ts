/**
 * Every adapter answers the same request with the same bytes: status, every header the adapter
 * writes (framework-only headers such as Date, Connection and X-Powered-By aside) and body.
 */
import { createApimw, createMemoryStore } from '@apimw/core'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { testClock } from '../support/fixture.js'
import { harnesses } from './apps.js'

const FRAMEWORK_HEADERS = new Set(['date', 'connection', 'keep-alive', 'x-powered-by', 'vary'])

type Send = (agent: ReturnType<typeof request>) => request.Test

async function setup() {
  const apimw = createApimw({ store: createMemoryStore(), clock: testClock() })
  const { record, secret } = await apimw.keys.create({ name: 'k', scopes: ['orders:read'] })
  const listeners = harnesses.map((h) => ({ name: h.name, app: h.listener(apimw) }))
  const token = await request(listeners[0]!.app).post('/auth/token').auth(record.key, secret)
  return { key: record.key, secret, access: token.body.access_token as string, listeners }
}

/** One response with the bytes that legitimately differ per request (tokens) masked. */
function wire(res: request.Response) {
  const headers = Object.entries(res.headers).filter(([name]) => !FRAMEWORK_HEADERS.has(name))
  const body = res.text.replace(/"(access_token|refresh_token)":"[^"]+"/g, '"$1":"…"')
  return { status: res.status, headers: Object.fromEntries(headers), body }
}

const cases: [string, (c: Awaited<ReturnType<typeof setup>>) => Send][] = [
  [
    'a token for a valid Basic credential',
    (c) => (a) => a.post('/auth/token').auth(c.key, c.secret),
  ],
  ['a wrong secret over Basic', (c) => (a) => a.post('/auth/token').auth(c.key, `${c.secret}x`)],
  ['no credential', () => (a) => a.post('/auth/token')],
  [
    'a text/plain body',
    () => (a) => a.post('/auth/token').set('content-type', 'text/plain').send('x'),
  ],
  [
    'a repeated form field',
    (c) => (a) =>
      a.post('/auth/token').type('form').send(`api_key=${c.key}&api_key=${c.key}&api_secret=x`),
  ],
  ['a 20 KiB body', () => (a) => a.post('/auth/token').send({ padding: 'x'.repeat(20_000) })],
  [
    'an unknown grant',
    (c) => (a) => a.post('/auth/token').auth(c.key, c.secret).send({ grant_type: 'password' }),
  ],
  ['GET on the token route', () => (a) => a.get('/auth/token')],
  [
    'an unknown refresh token',
    () => (a) => a.post('/auth/refresh').send({ refresh_token: 'apimw_rt_x' }),
  ],
  ['revoking garbage', () => (a) => a.post('/auth/revoke').send({ token: 'garbage' })],
  ['the JWKS', () => (a) => a.get('/auth/jwks.json')],
  ['a guarded route without a token', () => (a) => a.get('/v1/me')],
  ['a guarded route with Basic', (c) => (a) => a.get('/v1/me').auth(c.key, c.secret)],
  [
    'a guarded route with a bad token',
    () => (a) => a.get('/v1/me').set('authorization', 'Bearer a.b.c'),
  ],
  [
    'a missing scope',
    (c) => (a) => a.post('/v1/orders').set('authorization', `Bearer ${c.access}`),
  ],
  ['a token in the query', (c) => (a) => a.get(`/v1/orders?access_token=${c.access}`)],
]

describe('identical on the wire', () => {
  it.each(cases)('answers %s with the same bytes on every adapter', async (_name, build) => {
    const context = await setup()
    const send = build(context)
    const answers = []
    for (const { name, app } of context.listeners)
      answers.push({ name, ...wire(await send(request(app))) })
    const [first, ...rest] = answers
    for (const answer of rest) expect({ ...answer, name: first!.name }).toEqual(first)
  })
})
