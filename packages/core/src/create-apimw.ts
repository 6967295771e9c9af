import type { AnyApimwError } from './errors.js'
import { InvalidRequestError, isApimwError, TemporarilyUnavailableError } from './errors.js'
import type { AuthContext, BearerRequirements } from './guard/authenticate-bearer.js'
import { authenticateBearer } from './guard/authenticate-bearer.js'
import type { KeyManager } from './keys/key-management.js'
import { createKeyManager } from './keys/key-management.js'
import type { ApimwOptions, ResolvedOptions } from './options.js'
import { resolveOptions } from './options.js'
import { revokeAccess, revokeEndpoint } from './routes/revoke-endpoint.js'
import { tokenEndpoint } from './routes/token-endpoint.js'
import type { Services } from './services.js'
import { createServices } from './services.js'
import type { SigningKeyRecord } from './stores/types.js'
import type { ClientAddress } from './wire/client-address.js'
import { resolveClientAddress } from './wire/client-address.js'
import { BODY_LIMIT, parseParameters } from './wire/parse-parameters.js'
import type { Surface } from './wire/to-wire-response.js'
import { jsonResponse, toWireResponse } from './wire/to-wire-response.js'
import type { WireRequest, WireResponse } from './wire/types.js'

/** A signing key as the management API shows it: everything but the private JWK. */
export type SigningKeyInfo = Omit<SigningKeyRecord, 'privateJwk'>

const info = ({ privateJwk: _private, ...rest }: SigningKeyRecord): SigningKeyInfo => rest

/** What `apimw.options` shows: every resolved option but the pepper. */
export type PublicOptions = Omit<ResolvedOptions, 'pepper'>

export type AuthenticateResult =
  | { ok: true; auth: AuthContext }
  | { ok: false; response: WireResponse }

/** One APIMW instance: the `/auth` routes, the guard, and key management, over one store. */
export interface Apimw {
  /** The resolved options, less the pepper (a secret never leaves the hasher). */
  readonly options: PublicOptions
  /** Answers an `/auth` route, or `undefined` when the request is not for one (call the next handler). Never throws. */
  handle(req: WireRequest): Promise<WireResponse | undefined>
  /** The guard decision for a protected route. Never throws. */
  authenticate(req: WireRequest, need?: BearerRequirements): Promise<AuthenticateResult>
  /** Create, rotate, revoke and list API keys. Changes take effect in this instance at once. */
  readonly keys: KeyManager
  /** Signing keys, without their private material (it never leaves the store and the signer). */
  readonly signingKeys: {
    list(): Promise<SigningKeyInfo[]>
    /** A new active key; the previous one verifies until its tokens expire, or not at all with `retirePrevious`. */
    rotate(options?: { retirePrevious?: boolean }): Promise<SigningKeyInfo>
  }
  /** Revokes an access token this instance can verify; true if it was revoked. */
  revokeAccessToken(token: string): Promise<boolean>
  /** Writes pending usage counts and stops listening for changes. Does not close the store (its owner does). */
  close(): Promise<void>
}

type Route = (s: Services, req: WireRequest, client: ClientAddress) => Promise<WireResponse>

const ROUTES: Record<string, { method: 'GET' | 'POST'; run: Route }> = {
  '/token': {
    method: 'POST',
    run: (s, req, client) =>
      parameters(req).then((params) => tokenEndpoint(s, tokenRequest(req, params, client))),
  },
  '/refresh': {
    method: 'POST',
    run: (s, req, client) =>
      parameters(req).then((params) =>
        tokenEndpoint(s, { ...tokenRequest(req, params, client), grantType: 'refresh_token' }),
      ),
  },
  '/revoke': {
    method: 'POST',
    run: (s, req, client) =>
      parameters(req).then((params) => revokeEndpoint(s, tokenRequest(req, params, client))),
  },
  '/jwks.json': {
    method: 'GET',
    run: async (s) => ({ ...jsonResponse(200, await s.ring.jwks()), headers: jwksHeaders() }),
  },
}

/**
 * Creates an APIMW instance. Options are checked here, once: a bad one throws a `TypeError`.
 *
 * @example
 * const apimw = createApimw({ store: createMemoryStore(), environment: 'test' })
 * const { secret, record } = await apimw.keys.create({ name: 'billing', scopes: ['orders:read'] })
 */
export function createApimw(options: ApimwOptions = {}): Apimw {
  const resolved = resolveOptions(options)
  const s = createServices(resolved)
  const unsubscribe = resolved.store.changes?.subscribe((change) => s.invalidate(change))

  async function handle(req: WireRequest): Promise<WireResponse | undefined> {
    const path = pathOf(req.target)
    if (!path.startsWith(`${resolved.basePath}/`)) return undefined
    const route = ROUTES[path.slice(resolved.basePath.length)]
    if (!route) return undefined
    const surface: Surface = {
      kind: 'token',
      basic: /^basic /i.test(req.header('authorization') ?? ''),
    }
    const client = resolveClientAddress(req, resolved.trust)
    try {
      requireSecure(s, client)
      if (req.method.toUpperCase() !== route.method) {
        const response = jsonResponse(405, {
          error: 'invalid_request',
          error_description: `use ${route.method}`,
        })
        response.headers.allow = route.method
        return response
      }
      return await route.run(s, req, client)
    } catch (error) {
      return failure(s, error, surface, req, client, 'auth.failed')
    }
  }

  async function authenticate(
    req: WireRequest,
    need: BearerRequirements = {},
  ): Promise<AuthenticateResult> {
    const client = resolveClientAddress(req, resolved.trust)
    try {
      requireSecure(s, client)
      const auth = await authenticateBearer(
        s,
        { authorization: req.header('authorization'), target: req.target, ip: client.ip },
        need,
      )
      return { ok: true, auth }
    } catch (error) {
      return {
        ok: false,
        response: await failure(s, error, { kind: 'bearer' }, req, client, 'request.denied'),
      }
    }
  }

  const { pepper: _secret, ...visible } = resolved
  return {
    options: Object.freeze(visible),
    handle,
    authenticate,
    keys: createKeyManager(s),
    signingKeys: {
      list: async () => (await s.ring.list()).map(info),
      async rotate(options) {
        const record = await s.ring.rotate(options)
        s.verified.clear()
        await s.publish({ kind: 'signing_keys' })
        await s.audit.emit({
          type: 'signing_key.rotated',
          details: { kid: record.kid, alg: record.alg },
        })
        return info(record)
      },
    },
    async revokeAccessToken(token) {
      return (await revokeAccess(s, token, undefined)) !== undefined
    },
    async close() {
      unsubscribe?.()
      await s.audit.flushUsage()
    },
  }
}

function requireSecure(s: Services, client: ClientAddress): void {
  if (s.options.requireHttps && !client.secure) {
    throw new InvalidRequestError('HTTPS is required', { reason: 'https_required' })
  }
}

/** Audits the failure and turns it into the wire answer. A non-APIMW error is a store failure: 503. */
async function failure(
  s: Services,
  error: unknown,
  surface: Surface,
  req: WireRequest,
  client: ClientAddress,
  type: 'auth.failed' | 'request.denied',
): Promise<WireResponse> {
  let known: AnyApimwError
  if (isApimwError(error)) {
    known = error
  } else {
    s.options.onError(error)
    known = new TemporarilyUnavailableError({ cause: error })
  }
  if (known.code === 'unauthorized') {
    s.audit.countAnonymousDenial(client.ip)
    return toWireResponse(known, surface)
  }
  const denied = known.code === 'access_denied' || known.code === 'too_many_requests'
  const unavailable = known.code === 'temporarily_unavailable'
  const audited = s.audit.emit({
    type: unavailable ? 'store.failed' : denied ? 'request.denied' : type,
    keyId: known.keyId,
    ip: client.ip,
    reason: known.reason ?? known.code,
    requestId: requestId(req),
  })
  // When the store is down the audit write may wait for the same timeout: answer without it.
  if (!unavailable) await audited
  return toWireResponse(known, surface)
}

async function parameters(req: WireRequest) {
  const body = await req.body(BODY_LIMIT)
  return parseParameters(body, req.header('content-type'), req.header('content-length'))
}

function tokenRequest(req: WireRequest, params: Record<string, string>, client: ClientAddress) {
  return { params, authorization: req.header('authorization'), client, requestId: requestId(req) }
}

const requestId = (req: WireRequest): string | undefined => {
  const id = req.header('x-request-id')
  return id && /^[\x21-\x7e]{1,128}$/.test(id) ? id : undefined
}

const pathOf = (target: string): string => {
  const query = target.indexOf('?')
  return query < 0 ? target : target.slice(0, query)
}

const jwksHeaders = (): Record<string, string> => ({
  'content-type': 'application/json',
  'cache-control': 'public, max-age=300',
})
