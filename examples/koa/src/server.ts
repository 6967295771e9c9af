/**
 * APIMW on Koa 3: `pnpm example:koa` from the repository root.
 * Configuration comes from the APIMW_* variables (CONTRACT §8); the store defaults to SQLite.
 */
import type { AddressInfo } from 'node:net'
import { printDemoKey } from '@apimw/cli'
import { openStore } from '@apimw/cli/store'
import { configFromEnv, createApimw } from '@apimw/core'
import type { ApimwState } from '@apimw/koa'
import { apimwAuth, requireBearer } from '@apimw/koa'
import Router from '@koa/router'
import Koa from 'koa'

const config = configFromEnv(process.env)
const { store, close } = await openStore(config.store, { tokenStore: config.tokenStore })
const apimw = createApimw({ ...config.options, store })

const router = new Router<ApimwState>()
router.get('/health', (ctx) => {
  ctx.body = { status: 'ok' }
})
router.get('/v1/me', requireBearer(), (ctx) => {
  const { token: _token, ...auth } = ctx.state.auth
  ctx.body = auth
})
router.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (ctx) => {
  ctx.body = { orders: [{ id: 'ord_1', total: 4200 }] }
})
router.post('/v1/orders', requireBearer({ scopes: ['orders:write'] }), (ctx) => {
  ctx.status = 201
  ctx.body = { id: 'ord_2', created: true }
})

const app = new Koa()
app.use(apimwAuth(apimw))
app.use(router.routes())

const server = app.listen(config.port, '127.0.0.1', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  await printDemoKey(apimw, url)
  console.log(`APIMW Koa example listening on ${url}`)
})

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close(async () => {
      await apimw.close()
      await close()
      process.exit(0)
    })
    server.closeAllConnections()
  })
}
