/**
 * APIMW on Express 5: `pnpm start` (or `pnpm example:express`) from the repository root.
 * Configuration comes from the APIMW_* variables (CONTRACT §8); the store defaults to SQLite.
 */
import { printDemoKey } from '@apimw/cli'
import { openStore } from '@apimw/cli/store'
import { configFromEnv, createApimw } from '@apimw/core'
import { apimwAuth, requireBearer } from '@apimw/express'
import express from 'express'

const config = configFromEnv(process.env)
const { store, close } = await openStore(config.store, { tokenStore: config.tokenStore })
const apimw = createApimw({ ...config.options, store })

const app = express()
app.use(apimwAuth(apimw))
app.get('/health', (_req, res) => {
  res.json({ status: 'ok' })
})
app.get('/v1/me', requireBearer(), (req, res) => {
  const { token: _token, ...auth } = req.auth!
  res.json(auth)
})
app.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (_req, res) => {
  res.json({ orders: [{ id: 'ord_1', total: 4200 }] })
})
app.post('/v1/orders', requireBearer({ scopes: ['orders:write'] }), (_req, res) => {
  res.status(201).json({ id: 'ord_2', created: true })
})

const server = app.listen(config.port, '127.0.0.1', async () => {
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : config.port}`
  await printDemoKey(apimw, url)
  console.log(`APIMW Express example listening on ${url}`)
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
