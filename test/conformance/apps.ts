import type { RequestListener } from 'node:http'
import * as express from '@apimw/express'
import * as hono from '@apimw/hono'
import * as koa from '@apimw/koa'
import { getRequestListener } from '@hono/node-server'
import Router from '@koa/router'
import Express from 'express'
import { Hono } from 'hono'
import Koa from 'koa'
import type { AdapterHarness } from './harness.js'

/**
 * The CONTRACT §9 app on each adapter: `/auth`, `GET /health`, `GET /v1/me` (the auth context
 * without the token), `GET /v1/orders` (orders:read), `POST /v1/orders` (orders:write).
 */
export const expressHarness: AdapterHarness = {
  name: 'express',
  listener(apimw) {
    return Express()
      .use(express.apimwAuth(apimw))
      .get('/health', (_req, res) => {
        res.json({ ok: true })
      })
      .get('/v1/me', express.requireBearer(), (req, res) => {
        const { token: _token, ...auth } = req.auth!
        res.json(auth)
      })
      .get('/v1/orders', express.requireBearer({ scopes: ['orders:read'] }), (_req, res) => {
        res.json({ orders: [] })
      })
      .post('/v1/orders', express.requireBearer({ scopes: ['orders:write'] }), (_req, res) => {
        res.status(201).json({ created: true })
      })
  },
}

export const koaHarness: AdapterHarness = {
  name: 'koa',
  listener(apimw) {
    const router = new Router<koa.ApimwState>()
      .get('/health', (ctx) => {
        ctx.body = { ok: true }
      })
      .get('/v1/me', koa.requireBearer(), (ctx) => {
        const { token: _token, ...auth } = ctx.state.auth
        ctx.body = auth
      })
      .get('/v1/orders', koa.requireBearer({ scopes: ['orders:read'] }), (ctx) => {
        ctx.body = { orders: [] }
      })
      .post('/v1/orders', koa.requireBearer({ scopes: ['orders:write'] }), (ctx) => {
        ctx.status = 201
        ctx.body = { created: true }
      })
    return new Koa().use(koa.apimwAuth(apimw)).use(router.routes()).callback()
  },
}

function honoApp(auth: ReturnType<typeof hono.apimwAuth>): Hono {
  const app = new Hono()
  app.use(auth)
  app.get('/health', (c) => c.json({ ok: true }))
  app.get('/v1/me', hono.requireBearer(), (c) => {
    const { token: _token, ...rest } = c.var.auth
    return c.json(rest)
  })
  app.get('/v1/orders', hono.requireBearer({ scopes: ['orders:read'] }), (c) =>
    c.json({ orders: [] }),
  )
  app.post('/v1/orders', hono.requireBearer({ scopes: ['orders:write'] }), (c) =>
    c.json({ created: true }, 201),
  )
  return app
}

export const honoHarness: AdapterHarness = {
  name: 'hono',
  listener: (apimw) => getRequestListener(honoApp(hono.apimwAuth(apimw)).fetch),
}

/** Serves `app.request()` (no Node bindings, no socket) to supertest: Node request in, Fetch Response out. */
const viaAppRequest =
  (app: Hono): RequestListener =>
  async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const headers = new Headers()
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks)
    const response = await app.request(req.url!, { method: req.method!, headers, body })
    response.headers.forEach((value, name) => {
      res.setHeader(name, value)
    })
    res.statusCode = response.status
    res.end(Buffer.from(await response.arrayBuffer()))
  }

export const honoFetchHarness: AdapterHarness = {
  name: 'hono (app.request)',
  // app.request() has no socket: the fixture's client is 127.0.0.1.
  listener: (apimw) =>
    viaAppRequest(honoApp(hono.apimwAuth(apimw, { getClientIp: () => '127.0.0.1' }))),
}

export const harnesses = [expressHarness, koaHarness, honoHarness, honoFetchHarness]
