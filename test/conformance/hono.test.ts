import { apimwAuth, requireBearer } from '@apimw/hono'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { defineConformanceSuite } from './harness.js'

defineConformanceSuite({
  name: 'hono',
  listener(apimw) {
    const app = new Hono()
    app.use(apimwAuth(apimw))
    app.get('/health', (c) => c.json({ ok: true }))
    app.get('/v1/me', requireBearer(), (c) => {
      const { token: _token, ...auth } = c.var.auth
      return c.json(auth)
    })
    app.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (c) => c.json({ orders: [] }))
    app.post('/v1/orders', requireBearer({ scopes: ['orders:write'] }), (c) =>
      c.json({ created: true }, 201),
    )
    return getRequestListener(app.fetch)
  },
})
