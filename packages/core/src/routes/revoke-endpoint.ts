import { InvalidGrantError, InvalidRequestError, isApimwError } from '../errors.js'
import { hashRefreshToken, looksLikeRefreshToken } from '../refresh/refresh-token.js'
import type { Services } from '../services.js'
import type { ApiKeyRecord } from '../stores/types.js'
import type { AccessTokenClaims } from '../tokens/access-token.js'
import { verifyAccessToken } from '../tokens/access-token.js'
import type { ClientAddress } from '../wire/client-address.js'
import type { Parameters } from '../wire/parse-parameters.js'
import { jsonResponse } from '../wire/to-wire-response.js'
import type { WireResponse } from '../wire/types.js'
import { authenticateClient, presentedCredential } from './client-credential.js'

/**
 * `POST /auth/revoke` (RFC 7009). A refresh token revokes its whole family; an access token is
 * revoked by `jti` until it expires. Unknown, malformed or expired tokens answer 200 all the same.
 * A credential is optional; with one, a token of another key is refused with `invalid_grant`
 * (RFC 7009 §2.1) and left alone.
 */
export async function revokeEndpoint(
  s: Services,
  request: {
    params: Parameters
    authorization: string | undefined
    client: ClientAddress
    requestId: string | undefined
  },
): Promise<WireResponse> {
  const credential = presentedCredential(request.params, request.authorization)
  const owner: ApiKeyRecord | undefined = credential
    ? await authenticateClient(s, credential, request.client.ip)
    : undefined
  const token = request.params.token
  if (!token) throw new InvalidRequestError('"token" is required', { reason: 'malformed_request' })
  const revoked = looksLikeRefreshToken(token)
    ? await revokeRefresh(s, token, owner)
    : await revokeAccess(s, token, owner)
  if (revoked) {
    await s.audit.emit({
      type: 'token.revoked',
      keyId: revoked.keyId,
      ip: request.client.ip,
      requestId: request.requestId,
      details: { tokenType: revoked.kind },
    })
  }
  return jsonResponse(200, {})
}

type Revoked = { keyId: string; kind: 'refresh_token' | 'access_token' } | undefined

async function revokeRefresh(
  s: Services,
  token: string,
  owner: ApiKeyRecord | undefined,
): Promise<Revoked> {
  const found = await s.options.store.refreshTokens.find(await hashRefreshToken(token))
  if (!found) return undefined
  if (owner && owner.key !== found.keyId) throw otherKey('refresh_other_key', owner.key)
  await s.options.store.refreshTokens.revokeFamily(found.familyId, s.now())
  return { keyId: found.keyId, kind: 'refresh_token' }
}

/** Revokes a token this server signed, by `jti`; any other string is ignored. */
export async function revokeAccess(
  s: Services,
  token: string,
  owner: ApiKeyRecord | undefined,
): Promise<Revoked> {
  let claims: Readonly<AccessTokenClaims>
  try {
    ;({ claims } = await verifyAccessToken(s.tokens, token))
  } catch (error) {
    // Not a token we can verify: ignored (RFC 7009). A store failure is not: it answers 503.
    if (isApimwError(error)) return undefined
    throw error
  }
  if (owner && owner.key !== claims.sub) throw otherKey('token_other_key', owner.key)
  await s.options.store.revocations.revoke(
    claims.jti,
    claims.exp + s.options.clockTolerance,
    s.now(),
  )
  s.revokedCache.set(claims.jti, true)
  s.verified.delete(token)
  await s.publish({ kind: 'access_token', jti: claims.jti })
  return { keyId: claims.sub, kind: 'access_token' }
}

const otherKey = (reason: 'refresh_other_key' | 'token_other_key', keyId: string) =>
  new InvalidGrantError('the token was issued to another key', { reason, keyId })
