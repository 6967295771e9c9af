import type { ApimwOptions } from '@apimw/core'
import { createApimw, createMemoryStore } from '@apimw/core'
import type { Express } from 'express'
import express from 'express'
import request from 'supertest'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { AuthContext } from '../src/index.js'
import { apimwAuth, requireBearer } from '../src/index.js'

async function setup(options: ApimwOptions = {}, allowedIps?: readonly string[]) {
  const apimw = createApimw({ store: createMemoryStore(), ...options })
  const { record, secret } = await apimw.keys.create({
    name: 'express',
    scopes: ['orders:read'],
    allowedIps,
  })
  return { apimw, credential: { api_key: record.key, api_secret: secret } }
}

function guarded(app: Express): Express {
  return app.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (req, res) => {
    res.json({ keyId: req.auth?.keyId })
  })
}

async function tokenFor(app: Express, credential: object, path = '/auth/token') {
  const res = await request(app).post(path).send(credential)
  expect(res.status).toBe(200)
  return res.body.access_token as string
}

describe('@apimw/express', () => {
  it('writes the core response byte for byte (no charset added to content-type)', async () => {
    const { apimw, credential } = await setup()
    const app = guarded(express().use(apimwAuth(apimw)))
    const res = await request(app).post('/auth/token').send(credential)
    expect(res.headers['content-type']).toBe('application/json')
    const challenge = await request(app).get('/v1/orders')
    expect(challenge.headers['www-authenticate']).toBe('Bearer realm="apimw"')
    expect(challenge.headers['content-type']).toBe('application/json')
  })

  it('serves the routes relative to a mount path, and guards routes of the mounted router', async () => {
    const { apimw, credential } = await setup()
    const api = guarded(express().use(apimwAuth(apimw)))
    const app = express().use('/api', api)
    expect((await request(app).post('/auth/token').send(credential)).status).toBe(404)
    const token = await tokenFor(app, credential, '/api/auth/token')
    const orders = await request(app).get('/api/v1/orders').set('authorization', `Bearer ${token}`)
    expect(orders.body).toEqual({ keyId: credential.api_key })
  })

  it('works after express.json() and express.urlencoded(), keeping the 16 KiB and duplicate rules it can', async () => {
    const { apimw, credential } = await setup()
    const app = guarded(
      express()
        .use(express.json({ limit: '1mb' }))
        .use(express.urlencoded({ extended: false }))
        .use(apimwAuth(apimw)),
    )
    expect(await tokenFor(app, credential)).toEqual(expect.any(String))
    const form = await request(app).post('/auth/token').type('form').send(credential)
    expect(form.status).toBe(200)
    const repeated = await request(app)
      .post('/auth/token')
      .type('form')
      .send(`api_key=${credential.api_key}&api_key=x&api_secret=${credential.api_secret}`)
    expect(repeated.status).toBe(400)
    expect(repeated.body.error).toBe('invalid_request')
    const big = await request(app)
      .post('/auth/token')
      .send({ ...credential, padding: 'x'.repeat(20_000) })
    expect(big.status).toBe(413)
    expect(big.body.error).toBe('invalid_request')
  })

  it("follows the app's trust proxy setting for the client IP when the core's trustProxy is unset", async () => {
    const { apimw, credential } = await setup({}, ['203.0.113.7'])
    const untrusting = guarded(express().use(apimwAuth(apimw)))
    const spoofed = await request(untrusting)
      .post('/auth/token')
      .set('x-forwarded-for', '203.0.113.7')
      .send(credential)
    expect(spoofed.status).toBe(403)
    const trusting = guarded(express().set('trust proxy', 'loopback').use(apimwAuth(apimw)))
    const forwarded = await request(trusting)
      .post('/auth/token')
      .set('x-forwarded-for', '198.51.100.1, 203.0.113.7')
      .send(credential)
    expect(forwarded.status).toBe(200)
  })

  it("lets the core's trustProxy option override the app setting", async () => {
    const { apimw, credential } = await setup({ trustProxy: false }, ['203.0.113.7'])
    const app = guarded(express().set('trust proxy', true).use(apimwAuth(apimw)))
    const res = await request(app)
      .post('/auth/token')
      .set('x-forwarded-for', '203.0.113.7')
      .send(credential)
    expect(res.status).toBe(403)
  })

  it('accepts an explicit instance in requireBearer() and explains a missing apimwAuth()', async () => {
    const { apimw, credential } = await setup()
    const token = await tokenFor(express().use(apimwAuth(apimw)), credential)
    const explicit = express().get('/x', requireBearer({ apimw }), (_req, res) => {
      res.json({ ok: true })
    })
    expect((await request(explicit).get('/x').set('authorization', `Bearer ${token}`)).status).toBe(
      200,
    )
    const missing = express()
      .get('/x', requireBearer(), (_req, res) => {
        res.json({ ok: true })
      })
      .use(((error, _req, res, _next) => {
        res.status(500).json({ message: (error as Error).message })
      }) as express.ErrorRequestHandler)
    const res = await request(missing).get('/x')
    expect(res.body.message).toContain('requireBearer() needs app.use(apimwAuth())')
  })

  it('types req.auth as AuthContext | undefined', () => {
    expectTypeOf<express.Request['auth']>().toEqualTypeOf<AuthContext | undefined>()
  })
})
