/**
 * Key rotation racing token issuance across two instances on separate connections to the real
 * servers: issuance with the old secret never fails during the grace period, never answers 5xx,
 * and the record ends with exactly the current and the previous secret.
 */
import type { Apimw, WireRequest } from '@apimw/core'
import { createApimw } from '@apimw/core'
import { afterEach, describe, expect, it } from 'vitest'
import type { Namespace } from './support/backends.js'
import { backends } from './support/backends.js'
import { frozenClock } from './support/instances.js'

const tokenRequest = (key: string, secret: string): WireRequest => ({
  method: 'POST',
  target: '/auth/token',
  header: (name) => (name === 'authorization' ? `Basic ${btoa(`${key}:${secret}`)}` : undefined),
  peer: { address: '127.0.0.1', encrypted: false },
  body: async () => ({ raw: new Uint8Array() }),
})

describe.each(backends)('key rotation racing token issuance on $name', (backend) => {
  let ns: Namespace | undefined
  const instances: Apimw[] = []

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((apimw) => apimw.close()))
    await ns?.cleanup()
    ns = undefined
  })

  function pair() {
    ns = backend.namespace()
    const [a, b] = [ns.open(), ns.open()].map((opened) =>
      createApimw({ store: opened.store, clock: frozenClock, rateLimit: false }),
    )
    if (!a || !b) throw new Error('unreachable')
    instances.push(a, b)
    return { a, b }
  }

  const status = async (apimw: Apimw, key: string, secret: string) =>
    (await apimw.handle(tokenRequest(key, secret)))?.status

  it('keeps every token request with the old secret working while B rotates within a grace period', async () => {
    const { a, b } = pair()
    const { record, secret: old } = await a.keys.create({ name: 'k' })
    const [issued, rotations] = await Promise.all([
      Promise.all(Array.from({ length: 30 }, () => status(a, record.key, old))),
      Promise.all(
        Array.from({ length: 3 }, () => b.keys.rotate(record.key, { graceSeconds: 600 })),
      ),
    ])
    expect(issued).toEqual(Array(30).fill(200))
    const last = await b.keys.get(record.key)
    expect(last?.secrets).toHaveLength(2)
    // Rotations are atomic: the last one is current and the one before it is in its grace
    // period, so exactly two of the three new secrets work, from either instance.
    const working = await Promise.all(rotations.map((r) => status(a, record.key, r.secret)))
    expect(working.filter((code) => code === 200)).toHaveLength(2)
    expect(working.filter((code) => code === 401)).toHaveLength(1)
  })

  it('answers only 200 or 401 while B ends the old secret at once, and 401 after', async () => {
    const { a, b } = pair()
    const { record, secret: old } = await a.keys.create({ name: 'k' })
    const [issued, rotated] = await Promise.all([
      Promise.all(Array.from({ length: 30 }, () => status(a, record.key, old))),
      b.keys.rotate(record.key, { graceSeconds: 0 }),
    ])
    for (const code of issued) expect([200, 401]).toContain(code)
    expect(await status(a, record.key, old)).toBe(401)
    expect(await status(a, record.key, rotated.secret)).toBe(200)
  })
})
