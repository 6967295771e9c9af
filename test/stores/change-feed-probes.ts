/**
 * Helpers for testing a store's change feed (`store.changes`): the shared store suite and the store
 * packages' own feed tests use them. A feed subscribes asynchronously (Redis SUBSCRIBE, PostgreSQL
 * LISTEN), so a test first publishes probes until the listener hears one, then publishes what it
 * checks. Probes are `key` changes whose id starts with `probe-`; {@link nextChanges} skips them.
 */
import type { ApimwStore, StoreChange } from '@apimw/core'
import { expect } from 'vitest'

/** A change published by {@link untilSubscribed}, not by the test. */
export const isProbe = (change: StoreChange): boolean =>
  change.kind === 'key' && change.keyId.startsWith('probe-')

/**
 * Publishes probes from `from` until a listener on `to` hears one: `to`'s subscription (SUBSCRIBE,
 * LISTEN) is then in place, and what `from` publishes next reaches it. Gives up after 3 s.
 */
export async function untilSubscribed(to: ApimwStore, from: ApimwStore = to): Promise<void> {
  const heard = new Set<string>()
  const stop = to.changes?.subscribe((change) => {
    if (change.kind === 'key') heard.add(change.keyId)
  })
  try {
    for (let attempt = 0; attempt < 300; attempt++) {
      const probe = `probe-${attempt}`
      await from.changes?.publish({ kind: 'key', keyId: probe }).catch(() => undefined)
      if (heard.has(probe)) return
      await new Promise((resolve) => setTimeout(resolve, 10))
      if (heard.has(probe)) return
    }
    throw new Error('the listener never heard a probe')
  } finally {
    stop?.()
  }
}

/** The next `count` changes, probes aside, that a listener subscribed now on `store` hears. */
export function nextChanges(
  store: ApimwStore,
  count = 1,
): { changes: Promise<StoreChange[]>; stop(): void } {
  const got: StoreChange[] = []
  let stop = () => {}
  const changes = new Promise<StoreChange[]>((resolve) => {
    stop =
      store.changes?.subscribe((change) => {
        if (isProbe(change)) return
        got.push(change)
        if (got.length === count) resolve(got)
      }) ?? stop
  })
  return { changes, stop: () => stop() }
}

/**
 * Checks that a change `store` publishes reaches its own listener and not one of `other`'s, a store
 * on the same server under another namespace (Redis key prefix, PostgreSQL schema). `other` then
 * publishes a change of its own: one connection delivers in order, so had the first change reached
 * `other`, it would have come before that one.
 */
export async function expectFeedsApart(store: ApimwStore, other: ApimwStore): Promise<void> {
  const onStore = nextChanges(store)
  const onOther = nextChanges(other)
  try {
    await untilSubscribed(store)
    await untilSubscribed(other)
    await store.changes?.publish({ kind: 'access_token', jti: 'j1' })
    expect(await onStore.changes).toEqual([{ kind: 'access_token', jti: 'j1' }])
    await other.changes?.publish({ kind: 'signing_keys' })
    expect(await onOther.changes).toEqual([{ kind: 'signing_keys' }])
  } finally {
    onStore.stop()
    onOther.stop()
  }
}
