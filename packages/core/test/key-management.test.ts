import { describe, expect, it } from 'vitest'
import { createApimw } from '../src/create-apimw.js'
import { KeyManagementError } from '../src/keys/key-management.js'
import { createMemoryStore } from '../src/stores/memory-store.js'

const start = new Date('2026-01-01T00:00:00Z')
const t0 = start.getTime() / 1000

function setup() {
  let now = start.getTime()
  const store = createMemoryStore()
  const apimw = createApimw({ store, clock: () => new Date(now) })
  return { store, apimw, advance: (s: number) => (now += s * 1000) }
}

describe('key management', () => {
  it('creates a key whose record holds a hash of the secret, never the secret', async () => {
    const { apimw, store } = setup()
    const { record, secret } = await apimw.keys.create({
      name: 'billing',
      scopes: ['a', 'b', 'a'],
      allowedIps: ['10.0.0.0/8', '::1'],
      expiresIn: 60,
    })
    const stored = await store.keys.get(record.key)
    expect(stored).toEqual({
      key: record.key,
      name: 'billing',
      environment: 'test',
      scopes: ['a', 'b'],
      allowedIps: ['10.0.0.0/8', '::1'],
      secrets: [{ hash: expect.stringMatching(/^sha256:/), expiresAt: null }],
      createdAt: t0,
      expiresAt: t0 + 60,
      revokedAt: null,
      lastUsedAt: null,
      metadata: {},
    })
    expect(JSON.stringify(stored)).not.toContain(secret)
    expect((await store.audit.tail({ limit: 10 })).map((e) => e.type)).toEqual(['key.created'])
  })

  it.each([
    [{ name: '' }, 'name'],
    [{ name: 'x', environment: 'prod' as 'live' }, 'environment'],
    [{ name: 'x', allowedIps: ['10.0.0.0/33'] }, 'is not an IP address or CIDR range'],
    [{ name: 'x', allowedIps: ['example.com'] }, 'is not an IP address or CIDR range'],
    [{ name: 'x', scopes: ['has space'] }, 'is not a valid scope'],
    [{ name: 'x', expiresIn: 0 }, 'expires-in'],
  ])('refuses bad input %j with invalid_input and stores nothing', async (input, message) => {
    const { apimw, store } = setup()
    const error = await apimw.keys.create(input).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KeyManagementError)
    expect(error).toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining(message),
    })
    expect(await store.keys.list()).toEqual([])
  })

  it('rotates: the previous secret works through the grace period only', async () => {
    const { apimw, advance } = setup()
    const { record, secret: first } = await apimw.keys.create({ name: 'k' })
    const rotated = await apimw.keys.rotate(record.key, { graceSeconds: 100 })
    expect(rotated.previousSecretExpiresAt).toBe(t0 + 100)
    expect(rotated.record.secrets).toHaveLength(2)
    const token = (secret: string) =>
      apimw.handle({
        method: 'POST',
        target: '/auth/token',
        header: (n) =>
          n === 'authorization' ? `Basic ${btoa(`${record.key}:${secret}`)}` : undefined,
        peer: { address: '127.0.0.1', encrypted: false },
        body: async () => ({ raw: new Uint8Array() }),
      })
    expect((await token(first))?.status).toBe(200)
    expect((await token(rotated.secret))?.status).toBe(200)
    advance(100)
    expect((await token(first))?.status).toBe(401)
    expect((await token(rotated.secret))?.status).toBe(200)
  })

  it('answers not_found for rotating or revoking a key that does not exist, and refuses to rotate a revoked key', async () => {
    const { apimw } = setup()
    await expect(apimw.keys.rotate('apimw_test_nonexistentnonexistent')).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(apimw.keys.revoke('apimw_test_nonexistentnonexistent')).rejects.toMatchObject({
      code: 'not_found',
    })
    const { record } = await apimw.keys.create({ name: 'k' })
    await apimw.keys.revoke(record.key)
    await expect(apimw.keys.rotate(record.key)).rejects.toMatchObject({ code: 'not_found' })
  })

  it('keeps the first revocation time', async () => {
    const { apimw, advance } = setup()
    const { record } = await apimw.keys.create({ name: 'k' })
    expect((await apimw.keys.revoke(record.key)).revokedAt).toBe(t0)
    advance(10)
    expect((await apimw.keys.revoke(record.key)).revokedAt).toBe(t0)
  })

  it('refuses to manage keys that come from a read-only key table', async () => {
    const apimw = createApimw({ keys: { get: async () => undefined } })
    await expect(apimw.keys.create({ name: 'k' })).rejects.toMatchObject({ code: 'read_only' })
  })
})

describe('usage accounting', () => {
  it('writes request.allowed counts and lastUsedAt once per flush interval, not per request', async () => {
    const { apimw, store, advance } = setup()
    const { record, secret } = await apimw.keys.create({ name: 'k' })
    const res = await apimw.handle({
      method: 'POST',
      target: '/auth/token',
      header: (n) =>
        n === 'authorization' ? `Basic ${btoa(`${record.key}:${secret}`)}` : undefined,
      peer: { address: '127.0.0.1', encrypted: false },
      body: async () => ({ raw: new Uint8Array() }),
    })
    const token = JSON.parse(res?.body ?? '{}').access_token as string
    const guard = () =>
      apimw.authenticate({
        method: 'GET',
        target: '/v1/me',
        header: (n) => (n === 'authorization' ? `Bearer ${token}` : undefined),
        peer: { address: '127.0.0.1', encrypted: false },
        body: async () => ({ raw: new Uint8Array() }),
      })
    for (let i = 0; i < 5; i++) expect((await guard()).ok).toBe(true)
    const allowed = async () =>
      (await store.audit.tail({ limit: 100 })).filter((e) => e.type === 'request.allowed')
    expect(await allowed()).toEqual([])
    advance(60)
    expect((await guard()).ok).toBe(true)
    await apimw.close()
    expect((await allowed()).map((e) => e.details)).toEqual([{ count: 6 }])
    expect((await store.keys.get(record.key))?.lastUsedAt).toBe(t0 + 60)
  })
})

describe('signing keys through the API', () => {
  it('never hand out private key material', async () => {
    const { apimw } = setup()
    const rotated = await apimw.signingKeys.rotate()
    expect(rotated).not.toHaveProperty('privateJwk')
    const listed = await apimw.signingKeys.list()
    expect(listed.map((k) => k.kid)).toContain(rotated.kid)
    for (const key of listed) {
      expect(key).not.toHaveProperty('privateJwk')
      expect(key.publicJwk).not.toHaveProperty('d')
    }
  })
})
