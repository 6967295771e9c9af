/**
 * APIMW on Hono 4 (served by @hono/node-server): `pnpm example:hono` from the repository root.
 * Configuration comes from the APIMW_* variables (CONTRACT §8); the store defaults to SQLite.
 */
import type { Server } from 'node:http'
import { printDemoKey } from '@apimw/cli'
import { openStore } from '@apimw/cli/store'
import { configFromEnv, createApimw } from '@apimw/core'
import { apimwAuth, requireBearer } from '@apimw/hono'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const config = configFromEnv(process.env)
const { store, close } = await openStore(config.store, { tokenStore: config.tokenStore })
const apimw = createApimw({ ...config.options, store })

const app = new Hono()
app.use(apimwAuth(apimw))
app.get('/health', (c) => c.json({ status: 'ok' }))
app.get('/v1/me', requireBearer(), (c) => {
  const { token: _token, ...auth } = c.var.auth
  return c.json(auth)
})
app.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (c) => {
  return c.json({ orders: [{ id: 'ord_1', total: 4200 }] })
})
app.post('/v1/orders', requireBearer({ scopes: ['orders:write'] }), (c) => {
  return c.json({ id: 'ord_2', created: true }, 201)
})

const server = serve(
  { fetch: app.fetch, port: config.port, hostname: '127.0.0.1' },
  async (info) => {
    const url = `http://127.0.0.1:${info.port}`
    await printDemoKey(apimw, url)
    console.log(`APIMW Hono example listening on ${url}`)
  },
) as Server

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
