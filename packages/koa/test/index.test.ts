import type { Apimw, ApimwOptions } from '@apimw/core'
import { createApimw, createMemoryStore } from '@apimw/core'
import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import Koa from 'koa'
import mount from 'koa-mount'
import request from 'supertest'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { ApimwState, AuthContext } from '../src/index.js'
import { apimwAuth, requireBearer } from '../src/index.js'

async function setup(options: ApimwOptions = {}, allowedIps?: readonly string[]) {
  const apimw = createApimw({ store: createMemoryStore(), ...options })
  const { record, secret } = await apimw.keys.create({
    name: 'koa',
    scopes: ['orders:read'],
    allowedIps,
  })
  return { apimw, credential: { api_key: record.key, api_secret: secret } }
}

/** apimwAuth, then whatever `before` adds, then a guarded GET /v1/orders. */
function appWith(apimw: Apimw, before: Koa.Middleware[] = [], proxy = false) {
  const app = new Koa({ proxy })
  const router = new Router<ApimwState>()
  router.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (ctx) => {
    ctx.body = { keyId: ctx.state.auth.keyId }
  })
  for (const middleware of before) app.use(middleware)
  app.use(apimwAuth(apimw)).use(router.routes())
  return app.callback()
}

describe('@apimw/koa', () => {
  it('writes the core response byte for byte (no charset added to content-type)', async () => {
    const { apimw, credential } = await setup()
    const res = await request(appWith(apimw)).post('/auth/token').send(credential)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json')
    expect(res.headers['cache-control']).toBe('no-store')
    const challenge = await request(appWith(apimw)).get('/v1/orders')
    expect(challenge.status).toBe(401)
    expect(challenge.headers['www-authenticate']).toBe('Bearer realm="apimw"')
    expect(challenge.headers['content-type']).toBe('application/json')
  })

  it('serves the routes relative to a koa-mount prefix, and guards routes in the mounted app', async () => {
    const { apimw, credential } = await setup()
    const api = new Koa().use(apimwAuth(apimw)).use(guarded())
    const server = new Koa().use(mount('/api', api)).callback()
    expect((await request(server).post('/auth/token').send(credential)).status).toBe(404)
    const token = await request(server).post('/api/auth/token').send(credential)
    expect(token.status).toBe(200)
    const orders = await request(server)
      .get('/api/v1/orders')
      .set('authorization', `Bearer ${token.body.access_token}`)
    expect(orders.status).toBe(200)
    expect(orders.body).toEqual({ keyId: credential.api_key })
  })

  describe('after @koa/bodyparser', () => {
    it('issues a token from a JSON and a form body the parser already read', async () => {
      const { apimw, credential } = await setup()
      const app = appWith(apimw, [bodyParser()])
      expect((await request(app).post('/auth/token').send(credential)).status).toBe(200)
      expect((await request(app).post('/auth/token').type('form').send(credential)).status).toBe(
        200,
      )
    })

    it('still refuses a repeated JSON member or form field (the raw body is used)', async () => {
      const { apimw, credential } = await setup()
      const app = appWith(apimw, [bodyParser()])
      const json = `{"api_key":"${credential.api_key}","api_secret":"${credential.api_secret}","api_key":"${credential.api_key}"}`
      const repeatedJson = await request(app).post('/auth/token').type('json').send(json)
      expect(repeatedJson.status).toBe(400)
      expect(repeatedJson.body.error).toBe('invalid_request')
      const form = new URLSearchParams({ ...credential }).toString()
      const repeatedForm = await request(app)
        .post('/auth/token')
        .type('form')
        .send(`${form}&api_key=x`)
      expect(repeatedForm.status).toBe(400)
    })

    it('answers 413 for a body over 16 KiB that the parser accepted', async () => {
      const { apimw, credential } = await setup()
      const res = await request(appWith(apimw, [bodyParser()]))
        .post('/auth/token')
        .send({ ...credential, padding: 'x'.repeat(17 * 1024) })
      expect(res.status).toBe(413)
      expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) })
    })

    it('refuses a content type the parser left unread', async () => {
      const { apimw } = await setup()
      const res = await request(appWith(apimw, [bodyParser()]))
        .post('/auth/token')
        .type('text')
        .send('hello')
      expect(res.status).toBe(400)
      expect(res.body.error).toBe('invalid_request')
    })

    it('uses the parsed body when a parser consumed the stream without keeping it raw', async () => {
      const { apimw, credential } = await setup()
      const parsed: Koa.Middleware = async (ctx, next) => {
        for await (const _chunk of ctx.req);
        ;(ctx.request as { body?: unknown }).body = credential
        await next()
      }
      expect(
        (
          await request(appWith(apimw, [parsed]))
            .post('/auth/token')
            .send({})
        ).status,
      ).toBe(200)
    })
  })

  describe('client address (CONTRACT §6)', () => {
    it('ignores a forged X-Forwarded-For even with app.proxy on (never ctx.ip)', async () => {
      const { apimw, credential } = await setup({}, ['203.0.113.0/24'])
      const res = await request(appWith(apimw, [], true))
        .post('/auth/token')
        .set('x-forwarded-for', '203.0.113.9')
        .send(credential)
      expect(res.status).toBe(403)
      expect(res.body.error).toBe('access_denied')
    })

    it('walks X-Forwarded-For from the right with the trustProxy option', async () => {
      const { apimw, credential } = await setup({ trustProxy: 'loopback' }, ['203.0.113.0/24'])
      const app = appWith(apimw)
      const trusted = await request(app)
        .post('/auth/token')
        .set('x-forwarded-for', '198.51.100.1, 203.0.113.9')
        .send(credential)
      expect(trusted.status).toBe(200)
      const forged = await request(app)
        .post('/auth/token')
        .set('x-forwarded-for', '203.0.113.9, 198.51.100.1')
        .send(credential)
      expect(forged.status).toBe(403)
    })

    it('takes the protocol from X-Forwarded-Proto only from a trusted proxy (never ctx.protocol)', async () => {
      const untrusted = await setup({ requireHttps: true })
      const viaKoaProxy = await request(appWith(untrusted.apimw, [], true))
        .get('/auth/jwks.json')
        .set('x-forwarded-proto', 'https')
      expect(viaKoaProxy.status).toBe(400)
      const trusted = await setup({ requireHttps: true, trustProxy: 'loopback' })
      const viaTrustProxy = await request(appWith(trusted.apimw))
        .get('/auth/jwks.json')
        .set('x-forwarded-proto', 'https')
      expect(viaTrustProxy.status).toBe(200)
    })
  })

  describe('requireBearer()', () => {
    it('throws a TypeError (500) without apimwAuth() before it, and works with an explicit { apimw }', async () => {
      const { apimw, credential } = await setup()
      const bare = new Koa().use(requireBearer())
      bare.silent = true
      expect((await request(bare.callback()).get('/')).status).toBe(500)
      const token = await request(appWith(apimw)).post('/auth/token').send(credential)
      const explicit = new Koa<ApimwState>().use(requireBearer({ apimw })).use((ctx) => {
        ctx.body = { keyId: ctx.state.auth.keyId }
      })
      const res = await request(explicit.callback())
        .get('/')
        .set('authorization', `Bearer ${token.body.access_token}`)
      expect(res.body).toEqual({ keyId: credential.api_key })
    })

    it('types ctx.state.auth as AuthContext after it', () => {
      const router = new Router()
      router.get('/', requireBearer(), (ctx) => {
        expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthContext>()
      })
      new Koa().use(requireBearer()).use((ctx) => {
        expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthContext>()
      })
      expectTypeOf(requireBearer()).toEqualTypeOf<Koa.Middleware<ApimwState>>()
    })
  })
})

function guarded() {
  const router = new Router<ApimwState>()
  router.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (ctx) => {
    ctx.body = { keyId: ctx.state.auth.keyId }
  })
  return router.routes()
}
