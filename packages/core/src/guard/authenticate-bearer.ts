import type { FailureReason } from '../errors.js'
import {
  AccessDeniedError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
} from '../errors.js'
import { isIpAllowed } from '../policy/ip-allowlist.js'
import { keyProblem } from '../policy/key-status.js'
import type { Services } from '../services.js'
import type { Environment } from '../stores/types.js'
import type { AccessTokenClaims } from '../tokens/access-token.js'
import { verifyAccessToken } from '../tokens/access-token.js'
import { parseBearer } from '../wire/parse-authorization.js'

/** What a guarded handler sees: Express `req.auth`, Koa `ctx.state.auth`, Hono `c.get('auth')`. */
export interface AuthContext {
  /** The API key id (`apimw_<env>_…`). */
  keyId: string
  /** The token `sub`: the key id. */
  subject: string
  scopes: string[]
  environment: Environment
  /** The verified token claims, frozen. */
  claims: Readonly<AccessTokenClaims>
  /** The raw access token, for calls onward. */
  token: string
}

/** What a guarded route requires beyond a valid token. */
export interface BearerRequirements {
  /** Every one of these scopes must be granted. */
  scopes?: readonly string[]
}

/**
 * The guard decision (CONTRACT §5). A repeated token skips signature work (verified-token cache);
 * its revocation and its key's status are read from the store at most every `cacheTtl` seconds,
 * and at once after a change made through this instance.
 */
export async function authenticateBearer(
  s: Services,
  input: { authorization: string | undefined; target: string; ip: string | undefined },
  need: BearerRequirements,
): Promise<AuthContext> {
  if (new URLSearchParams(input.target.split('?')[1] ?? '').has('access_token')) {
    throw new InvalidRequestError(
      'send the access token in the Authorization header, not the query',
      {
        reason: 'token_malformed',
      },
    )
  }
  const token = parseBearer(input.authorization)
  const now = s.now()
  const claims = await verifiedClaims(s, token, now)
  if (claims.env !== s.options.environment) {
    throw invalidToken('the token belongs to another environment', 'wrong_environment', claims.sub)
  }
  if (await isRevoked(s, claims.jti, now))
    throw invalidToken('the access token was revoked', 'token_revoked', claims.sub)
  const key = await s.loadKey(claims.sub)
  const problem = key ? keyProblem(key, s.options.environment, now) : 'key_unknown'
  if (problem || !key)
    throw invalidToken(
      'the key of the access token is no longer valid',
      problem ?? 'key_unknown',
      claims.sub,
    )
  if (!isIpAllowed(input.ip, key.allowedIps)) {
    throw new AccessDeniedError('requests from this address are not allowed for this key', {
      reason: 'ip_not_allowed',
      keyId: key.key,
    })
  }
  const scopes = claims.scope.split(' ').filter((scope) => scope.length > 0)
  const missing = (need.scopes ?? []).filter((scope) => !scopes.includes(scope))
  if (missing.length > 0) throw new InsufficientScopeError(need.scopes ?? [], claims.sub)
  s.audit.countUsage(claims.sub)
  return { keyId: claims.sub, subject: claims.sub, scopes, environment: claims.env, claims, token }
}

async function verifiedClaims(
  s: Services,
  token: string,
  now: number,
): Promise<Readonly<AccessTokenClaims>> {
  const cached = s.verified.get(token)
  if (cached) {
    if (cached.claims.exp + s.options.clockTolerance <= now) {
      s.verified.delete(token)
      throw invalidToken('the access token expired', 'token_expired')
    }
    // verifier() reloads the key list after cacheTtl: a key retired by another instance ends here.
    if (await s.ring.verifier(cached.kid)) return cached.claims
    s.verified.delete(token)
  }
  const verified = await verifyAccessToken(s.tokens, token)
  s.verified.set(token, verified)
  return verified.claims
}

function isRevoked(s: Services, jti: string, now: number): Promise<boolean> {
  return s.revokedCache.through(jti, () => s.options.store.revocations.isRevoked(jti, now))
}

const invalidToken = (
  description: string,
  reason: FailureReason = 'token_invalid',
  keyId?: string,
) => new InvalidTokenError(description, { reason, keyId })
