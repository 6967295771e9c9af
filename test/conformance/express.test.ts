import { apimwAuth, requireBearer } from '@apimw/express'
import express from 'express'
import { defineConformanceSuite } from './harness.js'

defineConformanceSuite({
  name: 'express',
  listener(apimw) {
    const app = express()
    app.use(apimwAuth(apimw))
    app.get('/health', (_req, res) => {
      res.json({ ok: true })
    })
    app.get('/v1/me', requireBearer(), (req, res) => {
      const { token: _token, ...auth } = req.auth!
      res.json(auth)
    })
    app.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (_req, res) => {
      res.json({ orders: [] })
    })
    app.post('/v1/orders', requireBearer({ scopes: ['orders:write'] }), (_req, res) => {
      res.status(201).json({ created: true })
    })
    return app
  },
})
