import type { RequestListener } from 'node:http'
import { apimwAuth, requireBearer } from '@apimw/hono'
import { Hono } from 'hono'
import { defineConformanceSuite } from './harness.js'

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

defineConformanceSuite({
  name: 'hono (app.request)',
  listener(apimw) {
    const app = new Hono()
    // app.request() has no socket: the fixture's client is 127.0.0.1.
    app.use(apimwAuth(apimw, { getClientIp: () => '127.0.0.1' }))
    app.get('/health', (c) => c.json({ ok: true }))
    app.get('/v1/me', requireBearer(), (c) => {
      const { token: _token, ...auth } = c.var.auth
      return c.json(auth)
    })
    app.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (c) => c.json({ orders: [] }))
    app.post('/v1/orders', requireBearer({ scopes: ['orders:write'] }), (c) =>
      c.json({ created: true }, 201),
    )
    return viaAppRequest(app)
  },
})
