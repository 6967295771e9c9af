import type { RequestListener } from 'node:http'
import type { Apimw } from '@apimw/core'
import { describe } from 'vitest'
import { bearerCases } from './cases/bearer.js'
import { errorCases } from './cases/errors.js'
import { httpsProxyCases } from './cases/https-proxy.js'
import { jwksCases } from './cases/jwks.js'
import { refreshCases } from './cases/refresh.js'
import { revokeCases } from './cases/revoke.js'
import { tokenCases } from './cases/token.js'

/**
 * One adapter under test. `listener` builds the adapter's app with the routes of CONTRACT §9:
 * `GET /health` (public), `GET /v1/me` (any valid token: the auth context without the token),
 * `GET /v1/orders` (scope orders:read), `POST /v1/orders` (scope orders:write), plus `/auth`.
 */
export interface AdapterHarness {
  name: string
  listener(apimw: Apimw): RequestListener
}

/** Runs every contract case against one adapter (oidc-provider's MOUNT_VIA loop). */
export function defineConformanceSuite(harness: AdapterHarness): void {
  describe(`conformance: ${harness.name}`, () => {
    tokenCases(harness)
    refreshCases(harness)
    revokeCases(harness)
    jwksCases(harness)
    bearerCases(harness)
    httpsProxyCases(harness)
    errorCases(harness)
  })
}
