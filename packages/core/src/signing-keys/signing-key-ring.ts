import type { CryptoKey, JSONWebKeySet, JWK, KeyObject } from 'jose'
import { exportJWK, generateKeyPair, generateSecret, importJWK } from 'jose'
import type { Clock } from '../internal/clock.js'
import { seconds } from '../internal/clock.js'
import { base64url, randomBytes } from '../internal/encoding.js'
import type { SigningKeyRecord, SigningKeyStore } from '../stores/types.js'

export type SigningAlgorithm = 'ES256' | 'EdDSA' | 'RS256' | 'HS256'
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'EdDSA', 'RS256', 'HS256']

type Key = CryptoKey | KeyObject | Uint8Array

export interface LoadedKey {
  record: SigningKeyRecord
  signKey: Key
  verifyKey: Key
}

export interface SigningKeyRing {
  /** The active key for signing, created and stored on first use. */
  signer(): Promise<LoadedKey>
  /** The key that verifies tokens with this `kid` now, or `undefined` (unknown or retired). */
  verifier(kid: string): Promise<LoadedKey | undefined>
  /** The public keys of every live asymmetric key (RFC 7517). HMAC keys are never published. */
  jwks(): Promise<JSONWebKeySet>
  /** Makes a new active key. The old one verifies until its tokens expire, or not at all with `retirePrevious`. */
  rotate(options?: { retirePrevious?: boolean }): Promise<SigningKeyRecord>
  list(): Promise<SigningKeyRecord[]>
  /** Forgets the loaded keys: the next use reads the store (another instance rotated). */
  invalidate(): void
}

export function createSigningKeyRing(options: {
  store: SigningKeyStore
  algorithm: SigningAlgorithm
  clock: Clock
  /** Seconds a loaded key list is trusted before it is read again. */
  cacheTtl: number
  /** Seconds a rotated key keeps verifying: the access-token lifetime plus the clock tolerance. */
  verifyWindow: number
}): SigningKeyRing {
  const { store, algorithm, clock, cacheTtl, verifyWindow } = options
  let loaded = new Map<string, LoadedKey>()
  let loadedAt = Number.NEGATIVE_INFINITY
  let loading: Promise<void> | undefined
  let lastMissReload = Number.NEGATIVE_INFINITY
  /** Bumped by invalidate(): a list read before a change is used once but not trusted for cacheTtl. */
  let generation = 0

  async function load(): Promise<void> {
    loading ??= (async () => {
      const started = generation
      try {
        const records = await store.list()
        const next = new Map<string, LoadedKey>()
        for (const record of records) {
          const known = loaded.get(record.kid)
          next.set(record.kid, known ? { ...known, record } : await importRecord(record))
        }
        loaded = next
        loadedAt = started === generation ? seconds(clock) : Number.NEGATIVE_INFINITY
      } finally {
        loading = undefined
      }
    })()
    return loading
  }

  async function fresh(): Promise<Map<string, LoadedKey>> {
    if (seconds(clock) - loadedAt >= cacheTtl) await load()
    return loaded
  }

  const live = (record: SigningKeyRecord, now: number) =>
    record.notAfter === null || record.notAfter > now

  function activeIn(keys: Map<string, LoadedKey>): LoadedKey | undefined {
    for (const entry of keys.values()) {
      if (entry.record.alg === algorithm && entry.record.rotatedAt === null) return entry
    }
    return undefined
  }

  async function newRecord(): Promise<SigningKeyRecord> {
    const { privateJwk, publicJwk } = await generate(algorithm)
    const kid = base64url(randomBytes(12))
    return {
      kid,
      alg: algorithm,
      publicJwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' },
      privateJwk: { ...privateJwk, kid, alg: algorithm },
      createdAt: seconds(clock),
      rotatedAt: null,
      notAfter: null,
    }
  }

  const ring: SigningKeyRing = {
    async signer() {
      const active = activeIn(await fresh())
      if (active) return active
      const winner = await store.activate(await newRecord())
      await load()
      const entry = loaded.get(winner.kid)
      if (!entry) throw new Error('the active signing key vanished from the store')
      return entry
    },
    async verifier(kid) {
      let entry = (await fresh()).get(kid)
      const now = seconds(clock)
      // An unknown kid may be a key another instance made; reload, but at most once a second.
      if (!entry && now > lastMissReload) {
        lastMissReload = now
        await load()
        entry = loaded.get(kid)
      }
      return entry && live(entry.record, now) ? entry : undefined
    },
    async jwks() {
      // Publish the active key before any token is signed with it: verifiers cache this set.
      await ring.signer()
      const now = seconds(clock)
      const keys = [...loaded.values()]
        .filter((entry) => entry.record.alg !== 'HS256' && live(entry.record, now))
        .map((entry) => entry.record.publicJwk)
      return { keys }
    },
    async rotate({ retirePrevious = false } = {}) {
      const next = await newRecord()
      const now = seconds(clock)
      await store.rotate(next, now, retirePrevious ? now : now + verifyWindow)
      await load()
      return next
    },
    list: () => store.list(),
    invalidate() {
      generation++
      loadedAt = Number.NEGATIVE_INFINITY
    },
  }
  return ring
}

async function importRecord(record: SigningKeyRecord): Promise<LoadedKey> {
  const signKey = await importJWK(record.privateJwk, record.alg)
  const verifyKey = record.alg === 'HS256' ? signKey : await importJWK(record.publicJwk, record.alg)
  return { record, signKey, verifyKey }
}

async function generate(alg: SigningAlgorithm): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  if (alg === 'HS256') {
    const secret = await generateSecret('HS256', { extractable: true })
    const jwk = await exportJWK(secret)
    return { privateJwk: jwk, publicJwk: jwk }
  }
  const pair = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  })
  return {
    privateJwk: await exportJWK(pair.privateKey),
    publicJwk: await exportJWK(pair.publicKey),
  }
}
