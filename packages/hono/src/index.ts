import type {
  Apimw,
  ApimwOptions,
  AuthContext,
  BearerRequirements,
  WireBody,
  WireRequest,
  WireResponse,
} from '@apimw/core'
import { mountedApimw, readWebBody, toApimw } from '@apimw/core'
import type { Context, MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'

/** Adapter options: where the client address comes from. */
export interface HonoAdapterOptions {
  /**
   * The address of the TCP peer (the client, or the nearest proxy); the core applies its
   * `trustProxy` option to `X-Forwarded-For` on top of it. Default: `@hono/node-server`'s
   * `c.env.incoming.socket.remoteAddress`, else `undefined` (a key with an IP allowlist is then refused).
   */
  getClientIp?: (c: Context) => string | undefined
}

/** What `requireBearer()` adds to the context: `c.get('auth')` and `c.var.auth`. */
export type ApimwEnv = { Variables: { auth: AuthContext } }

type ClientIp = (c: Context) => string | undefined
type Mounted = { apimw: Apimw; getClientIp: ClientIp }
const MOUNTED = Symbol('apimw.instance')
type WithMounted = Context & { [MOUNTED]?: Mounted }
/** `@hono/node-server`'s bindings, read defensively (no `node:` import, any runtime). */
type NodeBindings =
  | { incoming?: { socket?: { remoteAddress?: string; encrypted?: boolean } } }
  | undefined

/**
 * Mounts the `/auth` routes (token, refresh, revoke, jwks.json) and makes the instance available to
 * `requireBearer()` further down. Paths are relative to the mount (`app.route('/api', sub)`).
 *
 * @example
 * app.use(apimwAuth({ store: createSqliteStore({ path: '.apimw/apimw.db' }) }))
 * app.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (c) => c.json(c.var.auth))
 */
export function apimwAuth(
  options: ApimwOptions | Apimw = {},
  adapter: HonoAdapterOptions = {},
): MiddlewareHandler {
  const mounted = {
    apimw: toApimw(options),
    getClientIp: adapter.getClientIp ?? nodePeer,
  }
  return async function apimwAuth(c, next) {
    ;(c as WithMounted)[MOUNTED] = mounted
    const response = await mounted.apimw.handle(toWire(c, mounted.getClientIp))
    if (response) return toResponse(response)
    return next()
  }
}

/**
 * Guards a route: a valid bearer token (with every scope in `need.scopes`) or the RFC 6750 error.
 * On success `c.get('auth')` / `c.var.auth` hold the auth context.
 *
 * @example
 * app.post('/v1/orders', requireBearer({ scopes: ['orders:write'] }), (c) => c.json(c.var.auth.scopes))
 */
export function requireBearer(
  need: BearerRequirements & HonoAdapterOptions & { apimw?: Apimw } = {},
): MiddlewareHandler<ApimwEnv> {
  return async function requireBearer(c, next) {
    const { apimw, getClientIp } = mountedFor(c, need)
    const result = await apimw.authenticate(toWire(c, getClientIp), need)
    if (!result.ok) return toResponse(result.response)
    c.set('auth', result.auth)
    return next()
  }
}

function mountedFor(c: Context, need: HonoAdapterOptions & { apimw?: Apimw }): Mounted {
  const mounted = (c as WithMounted)[MOUNTED]
  const apimw = mountedApimw(need.apimw ?? mounted?.apimw)
  return { apimw, getClientIp: need.getClientIp ?? mounted?.getClientIp ?? nodePeer }
}

function toWire(c: Context, getClientIp: ClientIp): WireRequest {
  const url = new URL(c.req.url)
  const socket = (c.env as NodeBindings)?.incoming?.socket
  return {
    method: c.req.method,
    target: relativeTarget(c, url),
    header: (name) => c.req.header(name),
    // The socket when there is one: an absolute-form request line can make the URL say https.
    peer: {
      address: getClientIp(c),
      encrypted: socket ? socket.encrypted === true : url.protocol === 'https:',
    },
    body: (limit) => readBody(c, limit),
  }
}

/** Path and query below the middleware's own pattern: `/api/*` (`app.route('/api', sub)`) drops `/api`. */
function relativeTarget(c: Context, url: URL): string {
  const mount = routePath(c).replace(/\/?\*$/, '') // '/api/*' → '/api', '/*' → ''
  const below = url.pathname.split('/').slice(mount.split('/').length)
  return `/${below.join('/')}${url.search}`
}

// A middleware that read the body through Hono (c.req.json(), text(), parseBody()) left it in Hono's cache.
const readBody = async (c: Context, limit: number): Promise<WireBody> =>
  c.req.raw.bodyUsed
    ? { raw: new Uint8Array(await c.req.arrayBuffer()) }
    : readWebBody(c.req.raw, limit)

const nodePeer = (c: Context): string | undefined =>
  (c.env as NodeBindings)?.incoming?.socket?.remoteAddress

const toResponse = (response: WireResponse): Response =>
  new Response(response.body ?? null, { status: response.status, headers: response.headers })

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
