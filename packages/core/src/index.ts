export { mountedApimw, toApimw } from './adapter-support.js'
export type { EnvConfig } from './config-from-env.js'
export { configFromEnv } from './config-from-env.js'
export type { Apimw, AuthenticateResult, PublicOptions, SigningKeyInfo } from './create-apimw.js'
export { createApimw } from './create-apimw.js'
export { keyEnvironment } from './credentials/api-key-format.js'
export type { AnyApimwError, ApimwErrorCode, ApimwErrorOptions, FailureReason } from './errors.js'
export {
  AccessDeniedError,
  ApimwError,
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
} from './errors.js'
export type { AuthContext, BearerRequirements } from './guard/authenticate-bearer.js'
export type { Clock } from './internal/clock.js'
export type { CreatedKey, CreateKeyInput, KeyManager, RotatedKey } from './keys/key-management.js'
export { KeyManagementError } from './keys/key-management.js'
export type { ApimwOptions, ResolvedOptions } from './options.js'
export { resolveOptions } from './options.js'
export type { RateLimitOptions } from './policy/failure-limiter.js'
export { isIpAllowed, parseAllowedIp } from './policy/ip-allowlist.js'
export type { SigningAlgorithm } from './signing-keys/signing-key-ring.js'
export type { MemoryStoreOptions } from './stores/memory-store.js'
export { createMemoryStore } from './stores/memory-store.js'
export {
  deliverStoreChange,
  parseStoreChange,
  serializeStoreChange,
} from './stores/store-change.js'
export type {
  ApiKeyReader,
  ApiKeyRecord,
  ApiKeyStore,
  ApimwStore,
  AuditEvent,
  AuditEventType,
  AuditSink,
  AuditStore,
  ChangeFeed,
  CounterStore,
  CounterValue,
  Environment,
  RefreshRotation,
  RefreshTokenRecord,
  RefreshTokenStore,
  RevocationStore,
  SecretHash,
  SigningKeyRecord,
  SigningKeyStore,
  StoreChange,
} from './stores/types.js'
export type { AccessTokenClaims } from './tokens/access-token.js'
export type { TrustProxy } from './wire/client-address.js'
export { compileTrust } from './wire/client-address.js'
export { readWebBody } from './wire/read-web-body.js'
export type { WireBody, WireRequest, WireResponse } from './wire/types.js'
