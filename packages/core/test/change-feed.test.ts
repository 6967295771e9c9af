import { describe, expect, it } from 'vitest'
import type { Apimw } from '../src/create-apimw.js'
import { createApimw } from '../src/create-apimw.js'
import { createMemoryStore } from '../src/stores/memory-store.js'
import type { ApimwStore } from '../src/stores/types.js'
import { wireRequest as request } from './support/wire.js'

const clock = () => new Date('2026-01-01T00:00:00Z')

async function tokenFor(apimw: Apimw) {
  const { record, secret } = await apimw.keys.create({ name: 'k' })
  const res = await apimw.handle(request('/auth/token', `Basic ${btoa(`${record.key}:${secret}`)}`))
  return { key: record.key, token: JSON.parse(res?.body ?? '{}').access_token as string }
}

const guard = async (apimw: Apimw, token: string) =>
  (await apimw.authenticate(request('/v1/me', `Bearer ${token}`))).ok

/** Two instances on one store, with the clock frozen: only the change feed can tell A in time. */
function pair(store: ApimwStore = createMemoryStore()) {
  return { a: createApimw({ store, clock }), b: createApimw({ store, clock }) }
}

describe('change feed', () => {
  it('a key revoked on another instance is refused at once, without waiting for the cache', async () => {
    const { a, b } = pair()
    const { key, token } = await tokenFor(a)
    expect(await guard(a, token)).toBe(true)
    await b.keys.revoke(key)
    expect(await guard(a, token)).toBe(false)
  })

  it('an access token revoked on another instance is refused at once', async () => {
    const { a, b } = pair()
    const { token } = await tokenFor(a)
    expect(await guard(a, token)).toBe(true)
    expect(await b.revokeAccessToken(token)).toBe(true)
    expect(await guard(a, token)).toBe(false)
  })

  it('a signing key retired on another instance stops verifying at once', async () => {
    const { a, b } = pair()
    const { token } = await tokenFor(a)
    expect(await guard(a, token)).toBe(true)
    await b.signingKeys.rotate({ retirePrevious: true })
    expect(await guard(a, token)).toBe(false)
  })

  it('without a change feed, the cached status holds until cacheTtl (the documented bound)', async () => {
    const { changes: _none, ...store } = createMemoryStore()
    let now = clock().getTime()
    const tick = () => new Date(now)
    const a = createApimw({ store, clock: tick })
    const b = createApimw({ store, clock: tick })
    const { key, token } = await tokenFor(a)
    expect(await guard(a, token)).toBe(true)
    await b.keys.revoke(key)
    now += 4_000
    expect(await guard(a, token)).toBe(true)
    now += 1_000
    expect(await guard(a, token)).toBe(false)
  })

  it('stops listening on close()', async () => {
    const { a, b } = pair()
    const { key, token } = await tokenFor(a)
    expect(await guard(a, token)).toBe(true)
    await a.close()
    await b.keys.revoke(key)
    expect(await guard(a, token)).toBe(true)
  })
})
