import type { FailureReason } from '../errors.js'
import type { ApiKeyRecord, Environment } from '../stores/types.js'

/** Why a key may not be used now, or `undefined` if it may. */
export function keyProblem(
  record: ApiKeyRecord,
  environment: Environment,
  now: number,
): FailureReason | undefined {
  if (record.revokedAt !== null) return 'key_revoked'
  if (record.expiresAt !== null && record.expiresAt <= now) return 'key_expired'
  if (record.environment !== environment) return 'wrong_environment'
  return undefined
}
