import type { FailureReason } from '../errors.js'
import {
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  UnsupportedGrantTypeError,
} from '../errors.js'
import { keyProblem } from '../policy/key-status.js'
import { generateRefreshToken, hashRefreshToken, newFamilyId } from '../refresh/refresh-token.js'
import type { Services } from '../services.js'
import type { ApiKeyRecord, RefreshTokenRecord } from '../stores/types.js'
import { issueAccessToken } from '../tokens/access-token.js'
import type { ClientAddress } from '../wire/client-address.js'
import type { Parameters } from '../wire/parse-parameters.js'
import { jsonResponse } from '../wire/to-wire-response.js'
import type { WireResponse } from '../wire/types.js'
import { authenticateClient, presentedCredential, requireAllowedIp } from './client-credential.js'

export interface TokenRequest {
  params: Parameters
  authorization: string | undefined
  client: ClientAddress
  requestId: string | undefined
  /** `/auth/refresh` forces the refresh grant. */
  grantType?: 'refresh_token'
}

/** `POST /auth/token` (RFC 6749 §4.4 and §6) and `POST /auth/refresh`. */
export async function tokenEndpoint(s: Services, request: TokenRequest): Promise<WireResponse> {
  const grantType = request.grantType ?? request.params.grant_type ?? 'client_credentials'
  const credential = presentedCredential(request.params, request.authorization)
  if (grantType === 'client_credentials') {
    if (!credential)
      throw new InvalidRequestError('client credentials are required', {
        reason: 'malformed_request',
      })
    const record = await authenticateClient(s, credential, request.client.ip)
    requireAllowedIp(record, request.client.ip)
    const scopes = requestedScopes(request.params.scope, record.scopes)
    return issueTokens(s, request, record, scopes, undefined)
  }
  if (grantType === 'refresh_token') {
    const record = credential
      ? await authenticateClient(s, credential, request.client.ip)
      : undefined
    return refresh(s, request, record)
  }
  throw new UnsupportedGrantTypeError('the grant type is not supported', {
    reason: 'grant_unsupported',
  })
}

async function refresh(
  s: Services,
  request: TokenRequest,
  authenticated: ApiKeyRecord | undefined,
): Promise<WireResponse> {
  const token = request.params.refresh_token
  if (!token)
    throw new InvalidRequestError('"refresh_token" is required', { reason: 'malformed_request' })
  const now = s.now()
  const hash = await hashRefreshToken(token)
  const found = await s.options.store.refreshTokens.find(hash)
  if (!found) throw grantError('refresh_unknown')
  if (found.familyRevokedAt !== null) throw grantError('refresh_revoked', found.keyId)
  if (found.expiresAt <= now) throw grantError('refresh_expired', found.keyId)
  const nextToken = generateRefreshToken()
  const rotate = async () =>
    s.options.store.refreshTokens.rotate(hash, await hashRefreshToken(nextToken), now)
  const reused = async () => {
    await s.audit.emit({
      type: 'refresh.reused',
      keyId: found.keyId,
      ip: request.client.ip,
      requestId: request.requestId,
      details: { familyId: found.familyId },
    })
    return grantError('refresh_reused', found.keyId)
  }
  // Any presentation of a used token is reuse, whatever else is wrong with the request: rotate()
  // revokes the family before another check can refuse the request and leave the family alive.
  if (found.usedAt !== null) {
    const rotation = await rotate()
    throw rotation.outcome === 'reused'
      ? await reused()
      : grantError('refresh_revoked', found.keyId)
  }
  if (authenticated && authenticated.key !== found.keyId) {
    throw grantError('refresh_other_key', found.keyId)
  }
  const record = authenticated ?? (await s.options.keys.get(found.keyId))
  const problem = record ? keyProblem(record, s.options.environment, now) : 'key_unknown'
  if (problem || !record || found.environment !== s.options.environment) {
    throw grantError(problem ?? 'wrong_environment', found.keyId)
  }
  requireAllowedIp(record, request.client.ip)
  const scopes = requestedScopes(request.params.scope, found.scopes)
  const rotation = await rotate()
  if (rotation.outcome === 'reused') throw await reused()
  if (rotation.outcome === 'invalid') throw grantError('refresh_revoked', found.keyId)
  return issueTokens(s, request, record, scopes, nextToken)
}

async function issueTokens(
  s: Services,
  request: TokenRequest,
  record: Pick<ApiKeyRecord, 'key' | 'environment'>,
  /** The scopes granted now; a new refresh family is bound to exactly these (RFC 6749 §6). */
  scopes: readonly string[],
  rotatedRefreshToken: string | undefined,
): Promise<WireResponse> {
  const now = s.now()
  const { token } = await issueAccessToken(s.tokens, {
    keyId: record.key,
    scopes,
    environment: record.environment,
    now,
  })
  let refreshToken = rotatedRefreshToken
  if (refreshToken === undefined && s.options.refreshTokens) {
    refreshToken = generateRefreshToken()
    const family: RefreshTokenRecord = {
      hash: await hashRefreshToken(refreshToken),
      familyId: newFamilyId(),
      keyId: record.key,
      scopes: [...scopes],
      environment: record.environment,
      issuedAt: now,
      expiresAt: now + s.options.refreshTokenTtl,
      usedAt: null,
      familyRevokedAt: null,
    }
    await s.options.store.refreshTokens.create(family)
  }
  await s.audit.emit({
    type: rotatedRefreshToken === undefined ? 'token.issued' : 'token.refreshed',
    keyId: record.key,
    ip: request.client.ip,
    requestId: request.requestId,
    details: { scope: scopes.join(' ') },
  })
  return jsonResponse(200, {
    access_token: token,
    token_type: 'Bearer',
    expires_in: s.options.accessTokenTtl,
    ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    scope: scopes.join(' '),
  })
}

/** The requested scopes (space-separated), all of which the key must hold; omitted means all it holds. */
function requestedScopes(
  requested: string | undefined,
  held: readonly string[],
): readonly string[] {
  if (requested === undefined) return held
  const scopes = [...new Set(requested.split(' ').filter((scope) => scope.length > 0))]
  if (scopes.some((scope) => !held.includes(scope))) {
    throw new InvalidScopeError('the requested scope exceeds the scopes of the key', {
      reason: 'scope_not_held',
    })
  }
  return scopes
}

const grantError = (reason: FailureReason, keyId?: string) =>
  new InvalidGrantError('the refresh token is invalid, expired or revoked', { reason, keyId })
