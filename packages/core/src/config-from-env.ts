import type { ApimwOptions } from './options.js'

/** The `APIMW_*` variables (CONTRACT §8) as options, plus the store URL. Only the CLI and examples call this. */
export interface EnvConfig {
  /** `APIMW_STORE`: `memory:`, `sqlite:<path>`, `redis://…`, `postgres://…`. */
  store: string
  /** `APIMW_TOKEN_STORE`: an optional second store for refresh tokens, revocations, counters and changes. */
  tokenStore?: string
  options: Pick<
    ApimwOptions,
    | 'environment'
    | 'issuer'
    | 'audience'
    | 'accessTokenTtl'
    | 'refreshTokenTtl'
    | 'requireHttps'
    | 'trustProxy'
  >
  port: number
}

/**
 * Reads configuration from environment variables; a bad value throws a `TypeError` naming it.
 *
 * @example
 * const { store, options } = configFromEnv(process.env)
 */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): EnvConfig {
  const environment = env.APIMW_ENV ?? (env.NODE_ENV === 'production' ? 'live' : 'test')
  if (environment !== 'test' && environment !== 'live')
    throw new TypeError('APIMW_ENV must be "test" or "live"')
  const options: EnvConfig['options'] = {
    environment,
    issuer: env.APIMW_ISSUER || 'apimw',
    audience: env.APIMW_AUDIENCE || 'apimw-api',
    accessTokenTtl: seconds(env, 'APIMW_ACCESS_TOKEN_TTL', 3600),
    refreshTokenTtl: seconds(env, 'APIMW_REFRESH_TOKEN_TTL', 2_592_000),
    requireHttps: flag(env, 'APIMW_REQUIRE_HTTPS', environment === 'live'),
  }
  const trust = env.APIMW_TRUST_PROXY
  if (trust) options.trustProxy = trustValue(trust)
  const config: EnvConfig = {
    store: env.APIMW_STORE || 'sqlite:.apimw/apimw.db',
    options,
    port: port(env.PORT),
  }
  if (env.APIMW_TOKEN_STORE) config.tokenStore = env.APIMW_TOKEN_STORE
  return config
}

function seconds(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^[1-9][0-9]{0,9}$/.test(raw))
    throw new TypeError(`${name} must be a positive whole number of seconds`)
  return Number(raw)
}

function flag(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: boolean,
): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (raw === '1' || raw === 'true') return true
  if (raw === '0' || raw === 'false') return false
  throw new TypeError(`${name} must be 1 or 0`)
}

/** Express's syntax: `true`/`false`, a hop count, or names and CIDRs separated by commas. */
function trustValue(raw: string): boolean | number | string {
  if (raw === 'true') return true
  if (raw === 'false') return false
  if (/^[0-9]+$/.test(raw)) return Number(raw)
  return raw
}

function port(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 3000
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new TypeError('PORT must be 0 to 65535')
  return value
}
