/**
 * One error class per wire code (CONTRACT §2, §5). `code` is exactly the wire `error` value and is
 * stable; `reason` is finer-grained and goes to the audit log only, never to the client.
 */
export type ApimwErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'too_many_requests'
  | 'unauthorized'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'

/** Why a request failed, for the audit log. */
export type FailureReason =
  | 'malformed_request'
  | 'payload_too_large'
  | 'https_required'
  | 'key_unknown'
  | 'key_malformed'
  | 'secret_mismatch'
  | 'key_revoked'
  | 'key_expired'
  | 'wrong_environment'
  | 'refresh_unknown'
  | 'refresh_reused'
  | 'refresh_expired'
  | 'refresh_revoked'
  | 'refresh_other_key'
  | 'token_other_key'
  | 'grant_unsupported'
  | 'scope_not_held'
  | 'ip_not_allowed'
  | 'rate_limited'
  | 'token_missing'
  | 'token_malformed'
  | 'token_invalid'
  | 'token_expired'
  | 'token_revoked'
  | 'kid_unknown'
  | 'scope_missing'
  | 'store_unavailable'

const brand = Symbol.for('apimw.error')

type Status = 400 | 401 | 403 | 413 | 429 | 503

export interface ApimwErrorOptions {
  reason?: FailureReason
  /** The API key the failure concerns, when known (audit only). */
  keyId?: string
  cause?: unknown
}

/**
 * Base of every APIMW error. `code` is the wire `error`, `status` the HTTP status.
 *
 * @example
 * if (isApimwError(err)) switch (err.code) { case 'invalid_token': ... }
 */
export abstract class ApimwError extends Error {
  abstract readonly code: ApimwErrorCode
  abstract readonly status: Status
  readonly reason: FailureReason | undefined
  readonly keyId: string | undefined
  readonly [brand] = true

  constructor(description: string, options: ApimwErrorOptions = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.reason = options.reason
    this.keyId = options.keyId
  }
}

/** 400 `invalid_request`: malformed body or header, missing or repeated parameter, HTTPS required. */
export class InvalidRequestError extends ApimwError {
  readonly code = 'invalid_request'
  readonly status: 400 | 413 = 400
}

/** A body over the size limit: `invalid_request` with status 413. */
export class PayloadTooLargeError extends InvalidRequestError {
  override readonly status = 413
  constructor(limit: number) {
    super(`the request body exceeds ${limit} bytes`, { reason: 'payload_too_large' })
  }
}

/** Every cause answers with the same description; the real one is only in `reason`. */
export class InvalidClientError extends ApimwError {
  readonly code = 'invalid_client'
  readonly status = 401
  constructor(options: ApimwErrorOptions = {}) {
    super('client authentication failed', options)
  }
}

/** 400 `invalid_grant`: unknown, expired, revoked or reused refresh token. */
export class InvalidGrantError extends ApimwError {
  readonly code = 'invalid_grant'
  readonly status = 400
}

/** 400 `unsupported_grant_type`. */
export class UnsupportedGrantTypeError extends ApimwError {
  readonly code = 'unsupported_grant_type'
  readonly status = 400
}

/** 400 `invalid_scope`: a requested scope the key does not hold. */
export class InvalidScopeError extends ApimwError {
  readonly code = 'invalid_scope'
  readonly status = 400
}

/** 403 `access_denied`: the request IP is outside the key's allowlist. */
export class AccessDeniedError extends ApimwError {
  readonly code = 'access_denied'
  readonly status = 403
}

/** 429 `too_many_requests`: too many failed client authentications; see `retryAfter`. */
export class TooManyRequestsError extends ApimwError {
  readonly code = 'too_many_requests'
  readonly status = 429
  /** Seconds until the limit lifts (`Retry-After`). */
  readonly retryAfter: number
  constructor(retryAfter: number, keyId?: string) {
    super('too many failed attempts; retry later', { reason: 'rate_limited', keyId })
    this.retryAfter = retryAfter
  }
}

/** No credentials on a guarded route (RFC 6750 §3.1: the challenge carries no error code). */
export class UnauthorizedError extends ApimwError {
  readonly code = 'unauthorized'
  readonly status = 401
}

/** 401 `invalid_token`: bad, expired or revoked access token, or its key is no longer valid. */
export class InvalidTokenError extends ApimwError {
  readonly code = 'invalid_token'
  readonly status = 401
}

/** 403 `insufficient_scope`: the token lacks one of `required`. */
export class InsufficientScopeError extends ApimwError {
  readonly code = 'insufficient_scope'
  readonly status = 403
  readonly required: readonly string[]
  constructor(required: readonly string[], keyId?: string) {
    super('the access token lacks a required scope', { reason: 'scope_missing', keyId })
    this.required = required
  }
}

/** 503 `temporarily_unavailable`: a store failed; the guard fails closed. */
export class TemporarilyUnavailableError extends ApimwError {
  readonly code = 'temporarily_unavailable'
  readonly status = 503
  /** Seconds the client should wait (`Retry-After`). */
  readonly retryAfter: number
  constructor(options: ApimwErrorOptions & { retryAfter?: number } = {}) {
    super('the service is temporarily unavailable', { reason: 'store_unavailable', ...options })
    this.retryAfter = options.retryAfter ?? 1
  }
}

export type AnyApimwError =
  | InvalidRequestError
  | PayloadTooLargeError
  | InvalidClientError
  | InvalidGrantError
  | UnsupportedGrantTypeError
  | InvalidScopeError
  | AccessDeniedError
  | TooManyRequestsError
  | UnauthorizedError
  | InvalidTokenError
  | InsufficientScopeError
  | TemporarilyUnavailableError

/**
 * True for an APIMW error, also one thrown by another copy of this package.
 *
 * @example
 * if (isApimwError(err) && err.code === 'invalid_token') { ... }
 */
export function isApimwError(value: unknown): value is AnyApimwError {
  return (
    typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true
  )
}
