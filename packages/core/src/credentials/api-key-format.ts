import { base64url, randomBase62, randomBytes } from '../internal/encoding.js'
import type { Environment } from '../stores/types.js'

const KEY_PATTERN = /^apimw_(test|live)_[A-Za-z0-9]{20,64}$/

/** A new public key id: `apimw_<env>_` and 22 base62 characters (131 random bits). */
export function generateKeyId(environment: Environment): string {
  return `apimw_${environment}_${randomBase62(22)}`
}

/** A new secret: 32 random bytes (256 bits), base64url. */
export function generateSecret(): string {
  return base64url(randomBytes(32))
}

/** The environment a well-formed key id names, or `undefined` for anything else. */
export function keyEnvironment(key: string): Environment | undefined {
  const match = KEY_PATTERN.exec(key)
  return match ? (match[1] as Environment) : undefined
}

export const isEnvironment = (value: unknown): value is Environment =>
  value === 'test' || value === 'live'
