import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Apimw, ApimwOptions } from '@apimw/core'
import { createApimw, createMemoryStore } from '@apimw/core'
import { getRequestListener, serve } from '@hono/node-server'
import { Hono } from 'hono'
import request from 'supertest'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { ApimwEnv, AuthContext, HonoAdapterOptions } from '../src/index.js'
import { apimwAuth, requireBearer } from '../src/index.js'

async function setup(options: ApimwOptions = {}, allowedIps?: readonly string[]) {
  const apimw = createApimw({ store: createMemoryStore(), ...options })
  const { record, secret } = await apimw.keys.create({
    name: 'hono',
    scopes: ['orders:read'],
    allowedIps,
  })
  return { apimw, credential: { api_key: record.key, api_secret: secret } }
}

/** A sub-app with apimwAuth and a guarded GET /v1/orders, to mount anywhere. */
function authApp(apimw: Apimw, adapter: HonoAdapterOptions = {}) {
  return new Hono()
    .use(apimwAuth(apimw, adapter))
    .get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (c) =>
      c.json({ keyId: c.var.auth.keyId }),
    )
}

const postJson = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
})

describe('@apimw/hono', () => {
  it('answers with the core response as is (status, headers, body)', async () => {
    const { apimw, credential } = await setup()
    const res = await authApp(apimw).request('/auth/token', postJson(credential))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('pragma')).toBe('no-cache')
    const challenge = await authApp(apimw).request('/v1/orders')
    expect(challenge.status).toBe(401)
    expect(challenge.headers.get('www-authenticate')).toBe('Bearer realm="apimw"')
  })

  describe('mount point', () => {
    it.each([
      ['app.route("/api", sub)', (sub: Hono) => new Hono().route('/api', sub), '/api'],
      ['app.route("/:tenant", sub)', (sub: Hono) => new Hono().route('/:tenant', sub), '/acme'],
      [
        'basePath("/api").route("/v2", sub)',
        (sub: Hono) => new Hono().basePath('/api').route('/v2', sub),
        '/api/v2',
      ],
      ['app.route("/", sub)', (sub: Hono) => new Hono().route('/', sub), ''],
    ])('serves /auth and guards routes relative to %s', async (_name, mountOn, prefix) => {
      const { apimw, credential } = await setup()
      const app = mountOn(authApp(apimw))
      expect((await app.request(`${prefix}/x/auth/token`, postJson(credential))).status).toBe(404)
      const token = await app.request(`${prefix}/auth/token`, postJson(credential))
      expect(token.status).toBe(200)
      const { access_token } = (await token.json()) as { access_token: string }
      const orders = await app.request(`${prefix}/v1/orders`, {
        headers: { authorization: `Bearer ${access_token}` },
      })
      expect(await orders.json()).toEqual({ keyId: credential.api_key })
    })

    it('serves /auth relative to a path pattern: app.use("/api/*", apimwAuth())', async () => {
      const { apimw, credential } = await setup()
      const app = new Hono().use('/api/*', apimwAuth(apimw))
      expect((await app.request('/api/auth/token', postJson(credential))).status).toBe(200)
      expect((await app.request('/auth/token', postJson(credential))).status).toBe(404)
    })
  })

  describe('after a middleware that read the body', () => {
    const readFirst = (read: 'json' | 'text' | 'parseBody') =>
      new Hono().use(async (c, next) => {
        await (read === 'parseBody'
          ? c.req.parseBody()
          : read === 'json'
            ? c.req.json()
            : c.req.text())
        await next()
      })

    it('issues a token when an earlier middleware called c.req.json() or c.req.parseBody()', async () => {
      const { apimw, credential } = await setup()
      const json = readFirst('json').route('/', authApp(apimw))
      expect((await json.request('/auth/token', postJson(credential))).status).toBe(200)
      const form = readFirst('parseBody').route('/', authApp(apimw))
      const res = await form.request('/auth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(credential).toString(),
      })
      expect(res.status).toBe(200)
    })

    it('still refuses a repeated JSON member after c.req.text()', async () => {
      const { apimw, credential } = await setup()
      const app = readFirst('text').route('/', authApp(apimw))
      const body = `{"api_key":"${credential.api_key}","api_secret":"${credential.api_secret}","api_key":"x"}`
      const res = await app.request('/auth/token', postJson(body))
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request')
    })
  })

  describe('client address (CONTRACT §6)', () => {
    it('takes the peer from @hono/node-server and ignores X-Forwarded-For unless trustProxy trusts it', async () => {
      const plain = await setup({}, ['203.0.113.0/24'])
      const forged = await request(getRequestListener(authApp(plain.apimw).fetch))
        .post('/auth/token')
        .set('x-forwarded-for', '203.0.113.9')
        .send(plain.credential)
      expect(forged.status).toBe(403)
      const proxied = await setup({ trustProxy: 'loopback' }, ['203.0.113.0/24'])
      const trusted = await request(getRequestListener(authApp(proxied.apimw).fetch))
        .post('/auth/token')
        .set('x-forwarded-for', '203.0.113.9')
        .send(proxied.credential)
      expect(trusted.status).toBe(200)
    })

    it('uses getClientIp when given, and has no address under app.request() without it', async () => {
      const { apimw, credential } = await setup({}, ['203.0.113.0/24'])
      const custom = authApp(apimw, { getClientIp: () => '203.0.113.7' })
      expect((await custom.request('/auth/token', postJson(credential))).status).toBe(200)
      const none = await authApp(apimw).request('/auth/token', postJson(credential))
      expect(none.status).toBe(403)
    })

    it('reads https from the URL under app.request() and from the socket under @hono/node-server', async () => {
      const { apimw } = await setup({ requireHttps: true })
      const app = authApp(apimw)
      expect((await app.request('https://api.example/auth/jwks.json')).status).toBe(200)
      expect((await app.request('http://api.example/auth/jwks.json')).status).toBe(400)
      // An absolute-form request line makes @hono/node-server's URL say https over a plain socket.
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
      await new Promise((resolve) => server.once('listening', resolve))
      const { port } = server.address() as AddressInfo
      const status = await new Promise<number | undefined>((resolve, reject) => {
        httpRequest(
          { port, host: '127.0.0.1', path: 'https://api.example/auth/jwks.json' },
          (res) => {
            res.resume()
            resolve(res.statusCode)
          },
        )
          .on('error', reject)
          .end()
      })
      await new Promise((resolve) => server.close(resolve))
      expect(status).toBe(400)
    })
  })

  describe('requireBearer()', () => {
    it('fails (500) without apimwAuth() before it, and works with an explicit { apimw }', async () => {
      const { apimw, credential } = await setup()
      const bare = new Hono().use(requireBearer()).get('/', (c) => c.text('never'))
      bare.onError((error, c) => c.text(error instanceof TypeError ? error.message : 'other', 500))
      const failed = await bare.request('/')
      expect(failed.status).toBe(500)
      expect(await failed.text()).toMatch(/needs app\.use\(apimwAuth\(\)\)/)
      const token = (await (
        await authApp(apimw).request('/auth/token', postJson(credential))
      ).json()) as { access_token: string }
      const explicit = new Hono().get('/', requireBearer({ apimw }), (c) =>
        c.json({ keyId: c.get('auth').keyId }),
      )
      const res = await explicit.request('/', {
        headers: { authorization: `Bearer ${token.access_token}` },
      })
      expect(await res.json()).toEqual({ keyId: credential.api_key })
    })

    it('types c.var.auth and c.get("auth") as AuthContext without a global ContextVariableMap', () => {
      new Hono().get('/', requireBearer(), (c) => {
        expectTypeOf(c.var.auth).toEqualTypeOf<AuthContext>()
        expectTypeOf(c.get('auth')).toEqualTypeOf<AuthContext>()
        return c.text('ok')
      })
      new Hono().use(requireBearer()).get('/', (c) => {
        expectTypeOf(c.var.auth).toEqualTypeOf<AuthContext>()
        return c.text('ok')
      })
      new Hono().get('/', (c) => {
        // @ts-expect-error no auth variable on a route that requireBearer() does not guard
        c.var.auth
        return c.text('ok')
      })
      expectTypeOf<ApimwEnv>().toEqualTypeOf<{ Variables: { auth: AuthContext } }>()
    })
  })
})
