import type { Clock } from './internal/clock.js'
import type { RateLimitOptions } from './policy/failure-limiter.js'
import type { SigningAlgorithm } from './signing-keys/signing-key-ring.js'
import { SIGNING_ALGORITHMS } from './signing-keys/signing-key-ring.js'
import { createMemoryStore } from './stores/memory-store.js'
import type { ApiKeyReader, ApimwStore, AuditSink, Environment } from './stores/types.js'
import type { TrustFunction, TrustProxy } from './wire/client-address.js'
import { compileTrust } from './wire/client-address.js'

/** Options of `createApimw()`. Every duration is in seconds. */
export interface ApimwOptions {
  /** Where keys, signing keys, refresh tokens, revocations, counters and audit events live. Default: a new memory store. */
  store?: ApimwStore
  /** Your own key table (read-only): replaces `store.keys` for lookups. Keys are then managed by you. */
  keys?: ApiKeyReader
  /** Where the `/auth` routes are mounted, relative to the middleware. Default `'/auth'`. */
  basePath?: string
  /** Token `iss`. Default `'apimw'`. */
  issuer?: string
  /** Token `aud`. Default `'apimw-api'`. */
  audience?: string
  /** The server's environment; keys and tokens of the other one are refused. Default `'test'`. */
  environment?: Environment
  /** Access-token lifetime (`expires_in`), seconds. Default 3600. */
  accessTokenTtl?: number
  /** Absolute lifetime of a refresh-token family, seconds. Default 2592000 (30 days). */
  refreshTokenTtl?: number
  /** Issue refresh tokens. Default `true`. */
  refreshTokens?: boolean
  /** Accepted signing algorithms; the first signs new tokens. Default `['ES256']`. */
  algorithms?: readonly SigningAlgorithm[]
  /** Leeway for `exp`/`nbf`, seconds. Default 5. */
  clockTolerance?: number
  /** How long a cached key status, token revocation or key list is trusted before the store is read again, seconds. Default 5. */
  cacheTtl?: number
  /** Refuse plain HTTP. Default: `true` in `live`, `false` in `test`. */
  requireHttps?: boolean
  /** Proxies to trust for `X-Forwarded-For`/`-Proto`, in Express's `trust proxy` syntax. Default: nothing trusted (Express: the app's own setting). */
  trustProxy?: TrustProxy
  /** A server-side secret mixed into API-key hashes (HMAC-SHA-256). Default: none (SHA-256). */
  pepper?: string
  /** Audit sinks. Default: `store.audit`. */
  audit?: AuditSink | readonly AuditSink[]
  /** Brute-force limits on failed client authentication, or `false` to switch them off. */
  rateLimit?: RateLimitOptions | false
  /** How often per-key usage counts are written as `request.allowed` events, seconds. Default 60. */
  usageFlushInterval?: number
  /** Most verified tokens kept in memory. Default 10 000. */
  verifyCacheSize?: number
  /** The current time. Default `() => new Date()`. */
  clock?: Clock
  /** Called with unexpected failures (a store or audit sink error). Default: `console.error` of the error's name and message. */
  onError?: (error: unknown) => void
}

export interface ResolvedOptions {
  readonly store: ApimwStore
  readonly keys: ApiKeyReader
  readonly basePath: string
  readonly issuer: string
  readonly audience: string
  readonly environment: Environment
  readonly accessTokenTtl: number
  readonly refreshTokenTtl: number
  readonly refreshTokens: boolean
  readonly algorithms: readonly SigningAlgorithm[]
  readonly clockTolerance: number
  readonly cacheTtl: number
  readonly requireHttps: boolean
  readonly trust: TrustFunction | undefined
  readonly pepper: string | undefined
  readonly auditSinks: readonly AuditSink[]
  readonly rateLimit: RateLimitOptions | false
  readonly usageFlushInterval: number
  readonly verifyCacheSize: number
  readonly clock: Clock
  readonly onError: (error: unknown) => void
}

/** Checks every option once and fills in defaults; a bad option throws a `TypeError` naming it. */
export function resolveOptions(options: ApimwOptions = {}): ResolvedOptions {
  const environment = options.environment ?? 'test'
  if (environment !== 'test' && environment !== 'live') {
    throw new TypeError('"environment" must be "test" or "live"')
  }
  const algorithms = options.algorithms ?? ['ES256']
  if (algorithms.length === 0 || algorithms.some((alg) => !SIGNING_ALGORITHMS.includes(alg))) {
    throw new TypeError(`"algorithms" must be a non-empty list of ${SIGNING_ALGORITHMS.join(', ')}`)
  }
  const basePath = options.basePath ?? '/auth'
  if (!/^\/[A-Za-z0-9\-._~/]*[^/]$/.test(basePath)) {
    throw new TypeError('"basePath" must start with "/" and not end with "/"')
  }
  const store = options.store ?? createMemoryStore()
  const audit = options.audit ?? store.audit
  const rateLimit = options.rateLimit ?? {}
  if (rateLimit !== false) {
    positiveInteger('rateLimit.maxFailures', rateLimit.maxFailures)
    positiveInteger('rateLimit.windowSeconds', rateLimit.windowSeconds)
    positiveInteger('rateLimit.maxFailuresPerKey', rateLimit.maxFailuresPerKey)
  }
  const resolved: ResolvedOptions = {
    store,
    keys: options.keys ?? store.keys,
    basePath,
    issuer: nonEmpty('issuer', options.issuer ?? 'apimw'),
    audience: nonEmpty('audience', options.audience ?? 'apimw-api'),
    environment,
    accessTokenTtl: positiveInteger('accessTokenTtl', options.accessTokenTtl) ?? 3600,
    refreshTokenTtl: positiveInteger('refreshTokenTtl', options.refreshTokenTtl) ?? 2_592_000,
    refreshTokens: options.refreshTokens ?? true,
    algorithms,
    clockTolerance: nonNegativeInteger('clockTolerance', options.clockTolerance) ?? 5,
    cacheTtl: nonNegativeInteger('cacheTtl', options.cacheTtl) ?? 5,
    requireHttps: options.requireHttps ?? environment === 'live',
    trust: options.trustProxy === undefined ? undefined : compileTrust(options.trustProxy),
    pepper: pepper(options.pepper),
    auditSinks: Array.isArray(audit) ? [...audit] : [audit as AuditSink],
    rateLimit,
    usageFlushInterval: positiveInteger('usageFlushInterval', options.usageFlushInterval) ?? 60,
    verifyCacheSize: positiveInteger('verifyCacheSize', options.verifyCacheSize) ?? 10_000,
    clock: options.clock ?? (() => new Date()),
    onError: options.onError ?? reportError,
  }
  return Object.freeze(resolved)
}

function reportError(error: unknown): void {
  // Name and message only: a driver error's other fields may hold connection strings.
  const { name, message } =
    error instanceof Error ? error : { name: 'Error', message: String(error) }
  // A driver's message may quote a connection string: never print its password.
  console.error(`apimw: ${name}: ${message.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@')}`)
}

function positiveInteger(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
    throw new TypeError(`"${name}" must be a positive integer (seconds or a count)`)
  }
  return value
}

function nonNegativeInteger(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
    throw new TypeError(`"${name}" must be an integer >= 0 (seconds)`)
  }
  return value
}

function pepper(value: string | undefined): string | undefined {
  if (value !== undefined && (typeof value !== 'string' || value.length < 16)) {
    throw new TypeError('"pepper" must be a string of at least 16 characters (or left out)')
  }
  return value
}

function nonEmpty(name: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new TypeError(`"${name}" must be a non-empty string`)
  return value
}
