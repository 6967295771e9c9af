import type {
  Apimw,
  ApimwOptions,
  AuthContext,
  BearerRequirements,
  WireRequest,
  WireResponse,
} from '@apimw/core'
import { mountedApimw, toApimw } from '@apimw/core'
import { nodeRequestParts, readNodeBody } from '@apimw/core/node'
import type { Request, RequestHandler, Response } from 'express'

declare global {
  namespace Express {
    interface Request {
      /** Set by `requireBearer()` on success. */
      auth?: AuthContext
    }
  }
}

const INSTANCE = Symbol('apimw.instance')
type WithInstance = Request & { [INSTANCE]?: Apimw }

/**
 * Mounts the `/auth` routes (token, refresh, revoke, jwks.json) and makes the instance available to
 * `requireBearer()` further down. Mount it before any body parser.
 *
 * @example
 * app.use(apimwAuth({ store: createSqliteStore({ path: '.apimw/apimw.db' }) }))
 * app.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (req, res) => res.json(req.auth))
 */
export function apimwAuth(options: ApimwOptions | Apimw = {}): RequestHandler {
  const apimw = toApimw(options)
  return async function apimwAuth(req, res, next) {
    ;(req as WithInstance)[INSTANCE] = apimw
    try {
      const response = await apimw.handle(toWire(req))
      response ? send(res, response) : next()
    } catch (error) {
      next(error)
    }
  }
}

/**
 * Guards a route: a valid bearer token (with every scope in `need.scopes`) or the RFC 6750 error.
 * On success `req.auth` holds the auth context.
 *
 * @example
 * app.post('/v1/orders', requireBearer({ scopes: ['orders:write'] }), handler)
 */
export function requireBearer(need: BearerRequirements & { apimw?: Apimw } = {}): RequestHandler {
  return async function requireBearer(req, res, next) {
    try {
      const result = await instanceFor(req, need.apimw).authenticate(toWire(req), need)
      if (!result.ok) return send(res, result.response)
      req.auth = result.auth
      next()
    } catch (error) {
      next(error)
    }
  }
}

function instanceFor(req: Request, explicit: Apimw | undefined): Apimw {
  return mountedApimw(explicit ?? (req as WithInstance)[INSTANCE])
}

function toWire(req: Request): WireRequest {
  return {
    method: req.method,
    target: req.url,
    ...nodeRequestParts(req),
    // A getter: Express walks its trust-proxy chain only if the core asks (no trustProxy option).
    get resolved() {
      return { ip: req.ip, secure: req.secure }
    },
    body: (limit) => readNodeBody(req, limit, req.body),
  }
}

// Written with Node's own methods: Express's res.set() would add a charset to content-type.
function send(res: Response, response: WireResponse): void {
  res.statusCode = response.status
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value)
  res.end(response.body)
}

export type { Apimw, ApimwOptions, AuthContext, BearerRequirements } from '@apimw/core'
export {
  AccessDeniedError,
  ApimwError,
  createApimw,
  InsufficientScopeError,
  InvalidClientError,
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTokenError,
  isApimwError,
  PayloadTooLargeError,
  TemporarilyUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedGrantTypeError,
} from '@apimw/core'
