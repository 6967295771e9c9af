/**
 * Cross-instance cache invalidation on the real servers: two core instances, each on its own
 * store object and connection (client or pool), sharing one prefix or schema, with a frozen
 * clock. Cached key status, revocations and signing keys then never go stale by time, so when
 * A refuses within the wait, the notification did it. The delays are printed for the notes.
 */
import type { Apimw } from '@apimw/core'
import { createApimw } from '@apimw/core'
import { afterEach, describe, expect, it } from 'vitest'
import type { Namespace, OpenedStore } from './support/backends.js'
import { backends, feedReady } from './support/backends.js'
import { frozenClock, guardStatus, keyAndToken } from './support/instances.js'
import { waitUntil } from './support/wait.js'

/**
 * How long after B's call returns A must refuse: generous, so that a loaded 2-core CI machine
 * does not fail it. With the frozen clock A's caches never expire, so only the feed can make A
 * refuse at all; the printed delays are the real figures (a few milliseconds).
 */
const BOUND_MS = 10_000

describe.each(backends)('change feed on $name', { timeout: 30_000 }, (backend) => {
  let ns: Namespace | undefined
  const instances: Apimw[] = []

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((apimw) => apimw.close()))
    await ns?.cleanup()
    ns = undefined
  })

  /** Instances A and B on separate connections, with A's feed known to be listening. */
  async function pair(options: { changes?: boolean } = {}) {
    ns = backend.namespace()
    const stores: [OpenedStore, OpenedStore] = [ns.open(options), ns.open(options)]
    const [a, b] = stores.map((opened) => createApimw({ store: opened.store, clock: frozenClock }))
    if (!a || !b) throw new Error('unreachable')
    instances.push(a, b)
    if (options.changes !== false) await feedReady(stores[0].store, stores[1].store)
    return { a, b, stores }
  }

  /**
   * Runs `change` on B, then polls A's guard (never moving the clock) until it refuses. Returns the
   * delay in ms from the moment B's call returned: what the feed adds. The call itself (a signing
   * key rotation generates a key) is not the feed's, and takes long on a loaded 2-core machine.
   * Both delays are printed for the notes.
   */
  async function refusedOnA(a: Apimw, token: string, what: string, change: () => Promise<unknown>) {
    const started = performance.now()
    await change()
    const returned = performance.now()
    await waitUntil(what, async () => (await guardStatus(a, token)) === 401, {
      timeoutMs: BOUND_MS,
    })
    const refused = performance.now()
    console.log(
      `[propagation] ${backend.name}: ${what}: A refused ${(refused - returned).toFixed(1)} ms ` +
        `after B's call returned (${(refused - started).toFixed(1)} ms after it started)`,
    )
    return refused - returned
  }

  it('a key revoked on B is refused on A within 10 s of the call, by notification alone', async () => {
    const { a, b } = await pair()
    const { key, token } = await keyAndToken(a)
    expect(await guardStatus(a, token)).toBe(200)
    const delay = await refusedOnA(a, token, 'key revoked', () => b.keys.revoke(key))
    expect(delay).toBeLessThan(BOUND_MS)
  })

  it('an access token revoked on B is refused on A within 10 s of the call', async () => {
    const { a, b } = await pair()
    const { token } = await keyAndToken(a)
    expect(await guardStatus(a, token)).toBe(200)
    const delay = await refusedOnA(a, token, 'access token revoked', async () =>
      expect(await b.revokeAccessToken(token)).toBe(true),
    )
    expect(delay).toBeLessThan(BOUND_MS)
  })

  it('a signing key retired on B stops verifying on A within 10 s of the call', async () => {
    const { a, b } = await pair()
    const { token } = await keyAndToken(a)
    expect(await guardStatus(a, token)).toBe(200)
    const delay = await refusedOnA(a, token, 'signing key retired', () =>
      b.signingKeys.rotate({ retirePrevious: true }),
    )
    expect(delay).toBeLessThan(BOUND_MS)
  })

  it("listens again after the server ends the feed's connection", async () => {
    const { a, b, stores } = await pair()
    const { key, token } = await keyAndToken(a)
    expect(await guardStatus(a, token)).toBe(200)
    expect(await stores[0].kill('feed')).toBeGreaterThan(0)
    // Reconnecting takes a moment; a change published before A listens again would be lost (A
    // would then see it within cacheTtl). So wait until the feed delivers again, then change.
    await feedReady(stores[0].store, stores[1].store)
    const delay = await refusedOnA(a, token, 'key revoked after reconnect', () =>
      b.keys.revoke(key),
    )
    expect(delay).toBeLessThan(BOUND_MS)
  })

  it('without the feed (changes: false), A keeps its cached answer until cacheTtl passes', async () => {
    ns = backend.namespace()
    let now = frozenClock().getTime()
    const clock = () => new Date(now)
    const [a, b] = [ns.open({ changes: false }), ns.open({ changes: false })].map((opened) => {
      expect(opened.store.changes).toBeUndefined()
      return createApimw({ store: opened.store, clock })
    })
    if (!a || !b) throw new Error('unreachable')
    instances.push(a, b)
    const { key, token } = await keyAndToken(a)
    expect(await guardStatus(a, token)).toBe(200)
    await b.keys.revoke(key)
    now += 4_000
    expect(await guardStatus(a, token)).toBe(200)
    now += 1_000
    expect(await guardStatus(a, token)).toBe(401)
  })
})
