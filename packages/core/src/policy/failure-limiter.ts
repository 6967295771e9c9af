import { TooManyRequestsError } from '../errors.js'
import type { CounterStore } from '../stores/types.js'

export interface RateLimitOptions {
  /** Failed client authentications of one key from one IP before that pair gets 429. Default 10. */
  maxFailures?: number
  /** Length of the counting window, in seconds. Default 900 (15 minutes). */
  windowSeconds?: number
  /** Failures of one key across all IPs before the key gets 429 everywhere. Default 1000. */
  maxFailuresPerKey?: number
}

export interface FailureLimiter {
  /** Throws `TooManyRequestsError` while the (key, IP) pair or the key is limited. */
  check(keyId: string, ip: string | undefined, now: number): Promise<void>
  recordFailure(keyId: string, ip: string | undefined, now: number): Promise<void>
  recordSuccess(keyId: string, ip: string | undefined): Promise<void>
}

/**
 * Brute-force limits on `invalid_client` answers (CONTRACT §2). Fixed windows in the shared
 * `CounterStore`, so every instance on the same store counts together. Once limited, every request
 * of the pair is refused, the right secret included, so the limit never tells a guesser it hit.
 */
export function createFailureLimiter(
  counters: CounterStore,
  options: RateLimitOptions | false,
): FailureLimiter {
  if (options === false)
    return { check: async () => {}, recordFailure: async () => {}, recordSuccess: async () => {} }
  const maxFailures = options.maxFailures ?? 10
  const windowSeconds = options.windowSeconds ?? 900
  const maxFailuresPerKey = options.maxFailuresPerKey ?? 1000
  // Key ids come from the client; cap their length so counter names stay bounded.
  const pairName = (keyId: string, ip: string | undefined) =>
    `fail:${keyId.slice(0, 100)}|${ip ?? '-'}`
  const keyName = (keyId: string) => `fail:${keyId.slice(0, 100)}`

  return {
    async check(keyId, ip, now) {
      const [pair, key] = await Promise.all([
        counters.get(pairName(keyId, ip), now),
        counters.get(keyName(keyId), now),
      ])
      const limited = [
        pair && pair.count >= maxFailures ? pair : undefined,
        key && key.count >= maxFailuresPerKey ? key : undefined,
      ]
      const resetAt = Math.max(...limited.map((v) => v?.resetAt ?? 0))
      if (resetAt > 0)
        throw new TooManyRequestsError(Math.max(1, resetAt - now), keyId.slice(0, 100))
    },
    async recordFailure(keyId, ip, now) {
      await Promise.all([
        counters.increment(pairName(keyId, ip), windowSeconds, now),
        counters.increment(keyName(keyId), windowSeconds, now),
      ])
    },
    async recordSuccess(keyId, ip) {
      await counters.delete(pairName(keyId, ip))
    },
  }
}
