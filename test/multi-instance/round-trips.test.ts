/**
 * Store calls and network round trips per guarded request, on the real servers. Every method of
 * every sub-store is counted through a Proxy; round trips are the commands (Redis) or queries and
 * connection checkouts (PostgreSQL) sent on the store's connection. Guarded requests on a cache
 * hit must cost nothing; the numbers for a miss are printed for the notes.
 */
import type { ApimwStore } from '@apimw/core'
import { createApimw } from '@apimw/core'
import { afterEach, describe, expect, it } from 'vitest'
import type { Namespace, OpenedStore } from './support/backends.js'
import { backends } from './support/backends.js'
import { FROZEN, guardStatus, keyAndToken } from './support/instances.js'

const SUB_STORES = [
  'keys',
  'signingKeys',
  'refreshTokens',
  'revocations',
  'counters',
  'audit',
] as const

/** `store` with every sub-store method call recorded as `subStore.method`. */
function countingStore(store: ApimwStore, calls: string[]): ApimwStore {
  const wrapped: ApimwStore = { ...store }
  for (const name of SUB_STORES) {
    wrapped[name] = new Proxy(store[name], {
      get(target, property) {
        const value = Reflect.get(target, property, target)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          calls.push(`${name}.${String(property)}`)
          return value.apply(target, args)
        }
      },
    }) as never
  }
  return wrapped
}

describe.each(backends)('round trips per guarded request on $name', (backend) => {
  let ns: Namespace | undefined
  const closing: (() => Promise<void>)[] = []

  afterEach(async () => {
    for (const close of closing.splice(0)) await close()
    await ns?.cleanup()
    ns = undefined
  })

  it('costs no store call on a cache hit, and a few on a miss', async () => {
    ns = backend.namespace()
    let now = FROZEN.getTime()
    const clock = () => new Date(now)
    const issuerStore = ns.open()
    const issuerCalls: string[] = []
    const issuer = createApimw({ store: countingStore(issuerStore.store, issuerCalls), clock })
    closing.push(() => issuer.close())
    const { token } = await keyAndToken(issuer)
    // The issuing instance, right after the token route: key and signing keys are cached.
    issuerCalls.length = 0
    const issuerBefore = issuerStore.roundTrips()
    expect(await guardStatus(issuer, token)).toBe(200)
    const issuerFirst = {
      calls: [...issuerCalls],
      roundTrips: issuerStore.roundTrips() - issuerBefore,
    }

    // A verifier that has seen nothing yet: another instance, on its own connection.
    const opened: OpenedStore = ns.open()
    await opened.store.counters.get('warm-up', 0) // pays for the connection and migration check
    const calls: string[] = []
    const verifier = createApimw({ store: countingStore(opened.store, calls), clock })
    closing.push(() => verifier.close())

    /** One guarded request: its store calls and round trips. */
    async function measure() {
      calls.length = 0
      const before = opened.roundTrips()
      expect(await guardStatus(verifier, token)).toBe(200)
      return { calls: [...calls], roundTrips: opened.roundTrips() - before }
    }

    const cold = await measure()
    const hits = [await measure(), await measure(), await measure()]
    now += 5_000 // cacheTtl: key status, revocation and signing keys are read again
    const expired = await measure()
    const hitAfter = await measure()

    const report = (label: string, m: { calls: string[]; roundTrips: number }) =>
      `  ${label.padEnd(34)} ${String(m.calls.length).padStart(2)} store calls, ` +
      `${String(m.roundTrips).padStart(2)} round trips  ${m.calls.join(' ')}`
    console.log(
      [
        `[round trips] ${backend.name}, per guarded request:`,
        report('issuing instance, first request', issuerFirst),
        report('cold instance (miss)', cold),
        ...hits.map((hit, i) => report(`cache hit #${i + 1}`, hit)),
        report('after cacheTtl (miss)', expired),
        report('cache hit again', hitAfter),
      ].join('\n'),
    )

    for (const hit of [...hits, hitAfter]) expect(hit).toEqual({ calls: [], roundTrips: 0 })
    expect(issuerFirst).toEqual({ calls: ['revocations.isRevoked'], roundTrips: 1 })
    expect(cold.calls.sort()).toEqual(['keys.get', 'revocations.isRevoked', 'signingKeys.list'])
    expect(expired.calls.sort()).toEqual(['keys.get', 'revocations.isRevoked', 'signingKeys.list'])
    expect(cold.roundTrips).toBe(3)
    expect(expired.roundTrips).toBe(3)
  })
})
