import ipaddr from 'ipaddr.js'
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
  recordSuccess(keyId: string, ip: string | undefined, now: number): Promise<void>
}

/**
 * Brute-force limits on `invalid_client` answers (CONTRACT §2). Fixed windows in the shared
 * `CounterStore`, so every instance on the same store counts together. Once limited, every request
 * of the pair is refused, the right secret included, so the limit never tells a guesser it hit.
 *
 * The per-key limit (across all addresses) never locks the owner out: a pair that authenticated
 * within the window is exempt from it, and IPv6 clients count per /64, so an attacker cannot
 * spread guesses over one network's addresses to dodge the pair limit.
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
  const pair = (keyId: string, ip: string | undefined) =>
    `${keyId.slice(0, 100)}|${clientBucket(ip)}`
  const keyName = (keyId: string) => `fail:${keyId.slice(0, 100)}`

  return {
    async check(keyId, ip, now) {
      const [pairCount, keyCount] = await Promise.all([
        counters.get(`fail:${pair(keyId, ip)}`, now),
        counters.get(keyName(keyId), now),
      ])
      let resetAt = pairCount && pairCount.count >= maxFailures ? pairCount.resetAt : 0
      if (keyCount && keyCount.count >= maxFailuresPerKey) {
        const knownGood = await counters.get(`ok:${pair(keyId, ip)}`, now)
        if (!knownGood) resetAt = Math.max(resetAt, keyCount.resetAt)
      }
      if (resetAt > 0)
        throw new TooManyRequestsError(Math.max(1, resetAt - now), keyId.slice(0, 100))
    },
    async recordFailure(keyId, ip, now) {
      await Promise.all([
        counters.increment(`fail:${pair(keyId, ip)}`, windowSeconds, now),
        counters.increment(keyName(keyId), windowSeconds, now),
      ])
    },
    async recordSuccess(keyId, ip, now) {
      await Promise.all([
        counters.delete(`fail:${pair(keyId, ip)}`),
        counters.increment(`ok:${pair(keyId, ip)}`, windowSeconds, now),
      ])
    },
  }
}

/** The unit a client is counted in: its IPv4 address, or its IPv6 /64 (one customer network). */
function clientBucket(ip: string | undefined): string {
  if (ip === undefined || !ipaddr.isValid(ip)) return ip ?? '-'
  const address = ipaddr.process(ip)
  if (address.kind() === 'ipv4') return address.toString()
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4)
  return `${parts.map((part) => part.toString(16)).join(':')}::/64`
}
