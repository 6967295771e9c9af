import { describe, expect, it } from 'vitest'
import { generateKeyId, generateSecret, keyEnvironment } from '../src/credentials/api-key-format.js'
import { createSecretHasher } from '../src/credentials/secret-hasher.js'

describe('API key format', () => {
  it('makes apimw_<env>_<22 base62> ids and 256-bit base64url secrets, all different', () => {
    const ids = new Set(Array.from({ length: 200 }, () => generateKeyId('live')))
    expect(ids.size).toBe(200)
    for (const id of ids) expect(id).toMatch(/^apimw_live_[0-9A-Za-z]{22}$/)
    const secret = generateSecret()
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32)
  })

  it('reads the environment only from a well-formed id', () => {
    expect(keyEnvironment(generateKeyId('test'))).toBe('test')
    expect(keyEnvironment(generateKeyId('live'))).toBe('live')
    expect(keyEnvironment('apimw_prod_aaaaaaaaaaaaaaaaaaaaaa')).toBeUndefined()
    expect(keyEnvironment('apimw_test_short')).toBeUndefined()
    expect(keyEnvironment('apimw_test_aaaaaaaaaaaaaaaaaaaaaa!')).toBeUndefined()
  })
})

describe('secret hasher', () => {
  const now = 1_700_000_000

  it('stores a SHA-256 hash, never the secret, and verifies only the right secret', async () => {
    const hasher = createSecretHasher()
    const secret = generateSecret()
    const hash = await hasher.hash(secret)
    expect(hash).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/)
    expect(hash).not.toContain(secret)
    expect(await hasher.verify(secret, [{ hash, expiresAt: null }], now)).toBe(true)
    expect(await hasher.verify(`${secret}x`, [{ hash, expiresAt: null }], now)).toBe(false)
  })

  it('uses HMAC-SHA-256 with a pepper, so the same secret hashes differently per pepper', async () => {
    const secret = generateSecret()
    const a = await createSecretHasher('pepper-a').hash(secret)
    const b = await createSecretHasher('pepper-b').hash(secret)
    expect(a).toMatch(/^hmac-sha256:/)
    expect(a).not.toBe(b)
    expect(
      await createSecretHasher('pepper-b').verify(secret, [{ hash: a, expiresAt: null }], now),
    ).toBe(false)
  })

  it('accepts a previous secret only until it expires', async () => {
    const hasher = createSecretHasher()
    const [current, previous] = [generateSecret(), generateSecret()]
    const hashes = [
      { hash: await hasher.hash(current), expiresAt: null },
      { hash: await hasher.hash(previous), expiresAt: now + 60 },
    ]
    expect(await hasher.verify(previous, hashes, now + 59)).toBe(true)
    expect(await hasher.verify(previous, hashes, now + 60)).toBe(false)
    expect(await hasher.verify(current, hashes, now + 60)).toBe(true)
  })

  it('never matches when there is no stored hash (an unknown key still costs a compare)', async () => {
    const hasher = createSecretHasher()
    expect(await hasher.verify('', [], now)).toBe(false)
    expect(await hasher.verify('A'.repeat(43), [], now)).toBe(false)
  })
})
