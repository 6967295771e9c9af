import type { JWTPayload } from 'jose'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import { isEnvironment } from '../credentials/api-key-format.js'
import { InvalidTokenError } from '../errors.js'
import type { Clock } from '../internal/clock.js'
import { base64url, randomBytes } from '../internal/encoding.js'
import type { SigningKeyRing } from '../signing-keys/signing-key-ring.js'
import type { Environment } from '../stores/types.js'

/** The claims of an APIMW access token (RFC 9068 profile, CONTRACT §3). */
export interface AccessTokenClaims extends JWTPayload {
  iss: string
  aud: string | string[]
  sub: string
  client_id: string
  jti: string
  iat: number
  exp: number
  scope: string
  env: Environment
}

export interface AccessTokenSettings {
  ring: SigningKeyRing
  issuer: string
  audience: string
  ttl: number
  algorithms: readonly string[]
  clockTolerance: number
  clock: Clock
}

export interface IssuedAccessToken {
  token: string
  claims: AccessTokenClaims
}

export async function issueAccessToken(
  settings: AccessTokenSettings,
  grant: { keyId: string; scopes: readonly string[]; environment: Environment; now: number },
): Promise<IssuedAccessToken> {
  const { record, signKey } = await settings.ring.signer()
  const claims: AccessTokenClaims = {
    iss: settings.issuer,
    aud: settings.audience,
    sub: grant.keyId,
    client_id: grant.keyId,
    jti: base64url(randomBytes(16)),
    iat: grant.now,
    exp: grant.now + settings.ttl,
    scope: grant.scopes.join(' '),
    env: grant.environment,
  }
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: record.alg, kid: record.kid, typ: 'at+jwt' })
    .sign(signKey)
  return { token, claims }
}

/** A token whose signature and claims verified: its frozen claims and the `kid` that signed it. */
export interface VerifiedAccessToken {
  claims: Readonly<AccessTokenClaims>
  kid: string
}

const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const

/**
 * Verifies signature and claims: pinned algorithms, `typ` at+jwt (or application/at+jwt), a `kid`
 * that names a live key whose algorithm is the header's, no key-carrying headers, `iss`, `aud`,
 * `exp`, `nbf` with the clock tolerance. Throws `InvalidTokenError` with the reason.
 */
export async function verifyAccessToken(
  settings: AccessTokenSettings,
  token: string,
): Promise<VerifiedAccessToken> {
  let payload: JWTPayload
  let kid = ''
  // A store failure while loading the signing keys is not a bad token: it must surface (503).
  let storeFailure: { error: unknown } | undefined
  try {
    ;({ payload } = await jwtVerify(
      token,
      async (header) => {
        for (const name of FORBIDDEN_HEADERS) {
          if (name in header)
            throw invalid('the token header carries a key reference', 'token_invalid')
        }
        if (typeof header.kid !== 'string') throw invalid('the token has no kid', 'kid_unknown')
        kid = header.kid
        const entry = await settings.ring.verifier(header.kid).catch((error: unknown) => {
          storeFailure = { error }
          throw error
        })
        if (!entry || entry.record.alg !== header.alg)
          throw invalid('the token kid is unknown', 'kid_unknown')
        return entry.verifyKey
      },
      {
        algorithms: [...settings.algorithms],
        issuer: settings.issuer,
        audience: settings.audience,
        typ: 'at+jwt',
        clockTolerance: settings.clockTolerance,
        currentDate: settings.clock(),
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      },
    ))
  } catch (error) {
    if (storeFailure) throw storeFailure.error
    if (error instanceof InvalidTokenError) throw error
    if (error instanceof joseErrors.JWTExpired)
      throw invalid('the access token expired', 'token_expired')
    throw invalid('the access token is invalid', 'token_invalid')
  }
  if (
    typeof payload.scope !== 'string' ||
    typeof payload.client_id !== 'string' ||
    payload.client_id !== payload.sub ||
    !isEnvironment(payload.env)
  ) {
    throw invalid('the access token is invalid', 'token_invalid')
  }
  // Frozen: the same claims object is shared by every request that presents this token.
  if (Array.isArray(payload.aud)) Object.freeze(payload.aud)
  return { claims: Object.freeze(payload as AccessTokenClaims), kid }
}

const invalid = (description: string, reason: 'token_invalid' | 'token_expired' | 'kid_unknown') =>
  new InvalidTokenError(description, { reason })
