import { apimwAuth, requireBearer } from '@apimw/koa'
import Router from '@koa/router'
import Koa from 'koa'
import { defineConformanceSuite } from './harness.js'

defineConformanceSuite({
  name: 'koa',
  listener(apimw) {
    const app = new Koa()
    const router = new Router()
    router.get('/health', (ctx) => {
      ctx.body = { ok: true }
    })
    router.get('/v1/me', requireBearer(), (ctx) => {
      const { token: _token, ...auth } = ctx.state.auth
      ctx.body = auth
    })
    router.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (ctx) => {
      ctx.body = { orders: [] }
    })
    router.post('/v1/orders', requireBearer({ scopes: ['orders:write'] }), (ctx) => {
      ctx.status = 201
      ctx.body = { created: true }
    })
    app.use(apimwAuth(apimw)).use(router.routes())
    return app.callback()
  },
})
