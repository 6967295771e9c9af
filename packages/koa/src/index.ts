import type {
  Apimw,
  ApimwOptions,
  AuthContext,
  BearerRequirements,
  WireBody,
  WireRequest,
  WireResponse,
} from '@apimw/core'
import { mountedApimw, toApimw } from '@apimw/core'
import { nodeRequestParts, readNodeBody } from '@apimw/core/node'
import type { Context, Middleware } from 'koa'

/** What `requireBearer()` adds to `ctx.state`. */
export type ApimwState = { auth: AuthContext }

const INSTANCE = Symbol('apimw.instance')
type WithInstance = { [INSTANCE]?: Apimw }
/** What `@koa/bodyparser` leaves on `ctx.request` when it ran first. */
type ParsedRequest = { body?: unknown; rawBody?: unknown }

/**
 * Mounts the `/auth` routes (token, refresh, revoke, jwks.json) and makes the instance available to
 * `requireBearer()` further down. Mount it before any body parser; paths are relative to `koa-mount`.
 *
 * @example
 * app.use(apimwAuth({ store: createSqliteStore({ path: '.apimw/apimw.db' }) }))
 * router.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (ctx) => { ctx.body = ctx.state.auth })
 */
export function apimwAuth(options: ApimwOptions | Apimw = {}): Middleware {
  const apimw = toApimw(options)
  return async function apimwAuth(ctx, next) {
    ;(ctx.state as WithInstance)[INSTANCE] = apimw
    const response = await apimw.handle(toWire(ctx))
    return response ? send(ctx, response) : next()
  }
}

/**
 * Guards a route: a valid bearer token (with every scope in `need.scopes`) or the RFC 6750 error.
 * On success `ctx.state.auth` holds the auth context.
 *
 * @example
 * router.post('/v1/orders', requireBearer({ scopes: ['orders:write'] }), handler)
 */
export function requireBearer(
  need: BearerRequirements & { apimw?: Apimw } = {},
): Middleware<ApimwState> {
  return async function requireBearer(ctx, next) {
    const result = await instanceFor(ctx, need.apimw).authenticate(toWire(ctx), need)
    if (!result.ok) return send(ctx, result.response)
    ctx.state.auth = result.auth
    return next()
  }
}

function instanceFor(ctx: Context, explicit: Apimw | undefined): Apimw {
  return mountedApimw(explicit ?? (ctx.state as WithInstance)[INSTANCE])
}

// Never ctx.ip/ctx.protocol: with app.proxy on, Koa trusts the leftmost (forgeable) X-Forwarded-For.
// The core resolves the client from the raw peer with its `trustProxy` option (CONTRACT §6).
function toWire(ctx: Context): WireRequest {
  return {
    method: ctx.method,
    target: ctx.url,
    ...nodeRequestParts(ctx.req),
    body: (limit) => readBody(ctx, limit),
  }
}

async function readBody(ctx: Context, limit: number): Promise<WireBody> {
  const { rawBody, body } = ctx.request as ParsedRequest
  if (typeof rawBody === 'string') return { raw: new TextEncoder().encode(rawBody) }
  return readNodeBody(ctx.req, limit, body)
}

// Headers first: Koa's body setter keeps a content-type that is already there (no charset added).
function send(ctx: Context, response: WireResponse): void {
  for (const [name, value] of Object.entries(response.headers)) ctx.set(name, value)
  ctx.status = response.status
  ctx.body = response.body ?? ''
  if (response.body === undefined && response.headers['content-type'] === undefined)
    ctx.remove('content-type')
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
