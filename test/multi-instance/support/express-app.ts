import type { Apimw } from '@apimw/core'
import { apimwAuth, requireBearer } from '@apimw/express'
import express from 'express'

/** The Express app of the outage tests: the `/auth` routes and one guarded route. */
export function expressApp(apimw: Apimw): express.Express {
  const app = express()
  app.use(apimwAuth(apimw))
  app.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (req, res) => {
    res.json({ keyId: req.auth?.keyId })
  })
  return app
}
