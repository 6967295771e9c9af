import { describe, expect, it } from 'vitest'
import type { Apimw } from '../src/create-apimw.js'
import { createApimw } from '../src/create-apimw.js'
import { createMemoryStore } from '../src/stores/memory-store.js'
import type { ApimwStore } from '../src/stores/types.js'
import { wireRequest as request } from './support/wire.js'

const clock = () => new Date('2026-01-01T00:00:00Z')

const guard = async (apimw: Apimw, token: string) =>
  (await apimw.authenticate(request('/v1/me', `Bearer ${token}`))).ok

/**
 * A memory store whose `read` (one store method) can be held after it has read: the answer it
 * then gives predates whatever changes meanwhile, as a network reply in flight would.
 */
function heldStore(read: 'keys.get' | 'revocations.isRevoked' | 'signingKeys.list') {
  const base = createMemoryStore()
  let hold: Promise<void> | undefined
  let release = () => {}
  let reading: () => void = () => {}
  const [part, method] = read.split('.') as [keyof ApimwStore, string]
  const original = base[part] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
  const wrapped = {
    ...original,
    async [method](...args: unknown[]) {
      const answer = await original[method]?.(...args)
      const gate = hold // only the next read waits
      hold = undefined
      if (gate) {
        reading()
        await gate
      }
      return answer
    },
  }
  const store = { ...base, [part]: wrapped } as ApimwStore
  return {
    store,
    /** Holds the next read (only); resolves once that read has its (soon stale) answer. */
    holdNext() {
      hold = new Promise((resolve) => {
        release = resolve
      })
      return new Promise<void>((resolve) => {
        reading = resolve
      })
    },
    release: () => release(),
  }
}

async function tokenFor(apimw: Apimw) {
  const { record, secret } = await apimw.keys.create({ name: 'k' })
  const res = await apimw.handle(request('/auth/token', `Basic ${btoa(`${record.key}:${secret}`)}`))
  return { key: record.key, token: JSON.parse(res?.body ?? '{}').access_token as string }
}

describe('a change notified while a read is in flight', () => {
  it.each([
    ['a key revoked', 'keys.get', (b: Apimw, t: { key: string }) => b.keys.revoke(t.key)],
    [
      'an access token revoked',
      'revocations.isRevoked',
      (b: Apimw, t: { token: string }) => b.revokeAccessToken(t.token),
    ],
    [
      'a signing key retired',
      'signingKeys.list',
      (b: Apimw) => b.signingKeys.rotate({ retirePrevious: true }),
    ],
  ] as const)(
    '%s: the stale answer serves that request only and is not cached',
    async (_, read, change) => {
      const held = heldStore(read)
      const a = createApimw({ store: held.store, clock })
      const b = createApimw({ store: held.store, clock })
      const issued = await tokenFor(a)
      const c = createApimw({ store: held.store, clock }) // cold caches: its first guard reads
      const reading = held.holdNext()
      const first = guard(c, issued.token)
      await reading
      await change(b, issued as { key: string; token: string })
      held.release()
      expect(await first).toBe(true) // read before the change: fine for that one request
      expect(await guard(c, issued.token)).toBe(false) // the clock never moved: no cacheTtl help
    },
  )
})
