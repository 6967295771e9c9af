import { keyEnvironment } from '../credentials/api-key-format.js'
import { AccessDeniedError, InvalidClientError, InvalidRequestError } from '../errors.js'
import { isIpAllowed } from '../policy/ip-allowlist.js'
import { keyProblem } from '../policy/key-status.js'
import type { Services } from '../services.js'
import type { ApiKeyRecord } from '../stores/types.js'
import { parseBasic } from '../wire/parse-authorization.js'
import type { Parameters } from '../wire/parse-parameters.js'

export interface PresentedCredential {
  keyId: string
  secret: string
  /** Sent as HTTP Basic: a failure then carries a Basic challenge. */
  basic: boolean
}

const PAIRS = [
  ['api_key', 'api_secret'],
  ['client_id', 'client_secret'],
] as const

/**
 * The one credential of a request (CONTRACT §2): Basic, `api_key`+`api_secret`, or
 * `client_id`+`client_secret`. More than one, or an incomplete or mixed pair, is `invalid_request`.
 */
export function presentedCredential(
  params: Parameters,
  authorization: string | undefined,
): PresentedCredential | undefined {
  const found: PresentedCredential[] = []
  const basic = parseBasic(authorization)
  if (basic) found.push({ keyId: basic.user, secret: basic.password, basic: true })
  for (const [idName, secretName] of PAIRS) {
    const id = params[idName]
    const secret = params[secretName]
    if (id === undefined && secret === undefined) continue
    if (id === undefined || secret === undefined) {
      throw new InvalidRequestError(`"${idName}" and "${secretName}" must be sent together`, {
        reason: 'malformed_request',
      })
    }
    found.push({ keyId: id, secret, basic: false })
  }
  if (found.length > 1) {
    throw new InvalidRequestError('send exactly one client credential', {
      reason: 'malformed_request',
    })
  }
  return found[0]
}

/**
 * Checks a presented credential: rate limit, key format and environment, the secret (always one
 * constant-time compare, even for an unknown key), revocation and expiry. Every failure is the same
 * `invalid_client`; the cause is only in its `reason`. Does not check the IP allowlist.
 */
export async function authenticateClient(
  s: Services,
  credential: PresentedCredential,
  ip: string | undefined,
): Promise<ApiKeyRecord> {
  const now = s.now()
  const { keyId, secret } = credential
  await s.limiter.check(keyId, ip, now)
  const environment = keyEnvironment(keyId)
  const record = environment ? await s.options.keys.get(keyId) : undefined
  const secretMatches = await s.hasher.verify(secret, record?.secrets ?? [], now)
  const reason = !environment
    ? 'key_malformed'
    : !record
      ? 'key_unknown'
      : !secretMatches
        ? 'secret_mismatch'
        : keyProblem(record, s.options.environment, now)
  if (reason || !record) {
    await s.limiter.recordFailure(keyId, ip, now)
    throw new InvalidClientError({
      reason: reason ?? 'key_unknown',
      keyId: environment ? keyId : undefined,
    })
  }
  s.keyCache.set(keyId, record)
  await s.limiter.recordSuccess(keyId, ip, now)
  return record
}

/** 403 `access_denied` unless the key's allowlist admits `ip`. */
export function requireAllowedIp(record: ApiKeyRecord, ip: string | undefined): void {
  if (!isIpAllowed(ip, record.allowedIps)) {
    throw new AccessDeniedError('requests from this address are not allowed for this key', {
      reason: 'ip_not_allowed',
      keyId: record.key,
    })
  }
}
