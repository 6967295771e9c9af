import type { ApimwStore, SigningAlgorithm } from '@apimw/core'
import { createApimw, createMemoryStore } from '@apimw/core'
import type { JSONWebKeySet, JWK } from 'jose'
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  SignJWT,
} from 'jose'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import type { Fixture } from '../../support/fixture.js'
import { createFixture } from '../../support/fixture.js'
import type { AdapterHarness } from '../harness.js'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const

const challenge = (description: string) =>
  `Bearer realm="apimw", error="invalid_token", error_description="${description}"`

/** The public JWK members each algorithm publishes (RFC 7518 §6, RFC 8037), and nothing else. */
const PUBLIC_SHAPE: Record<Exclude<SigningAlgorithm, 'HS256'>, Record<string, unknown>> = {
  ES256: { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', x: expect.any(String) },
  RS256: { kty: 'RSA', n: expect.any(String), e: 'AQAB' },
}

async function getJwks(f: Fixture): Promise<JSONWebKeySet> {
  const res = await f.http().get('/auth/jwks.json')
  expect(res.status).toBe(200)
  expect(res.headers['content-type']).toBe('application/json')
  return res.body as JSONWebKeySet
}

/** The same store without its change feed: instances then see each other's changes only through cacheTtl. */
function withoutChangeFeed(store: ApimwStore): ApimwStore {
  const { changes: _changes, ...rest } = store
  return rest
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid

const me = (f: Fixture, token: string) =>
  f.http().get('/v1/me').set('authorization', `Bearer ${token}`)

/** Verifies like an independent resource server would: the published set, pinned claims. */
const verifyWithJwks = (f: Fixture, token: string, jwks: JSONWebKeySet) =>
  jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: 'apimw',
    audience: 'apimw-api',
    typ: 'at+jwt',
    currentDate: f.clock(),
  })

/** A token with fresh, valid claims signed by a stored signing key (as a leaked or retired key would). */
async function signWith(f: Fixture, kid: string, keyId: string): Promise<string> {
  const record = (await f.store.signingKeys.list()).find((k) => k.kid === kid)
  if (!record) throw new Error(`no signing key ${kid} in the store`)
  const now = f.clock.seconds()
  return new SignJWT({
    client_id: keyId,
    scope: 'orders:read',
    env: 'test',
  })
    .setProtectedHeader({ alg: record.alg, kid, typ: 'at+jwt' })
    .setIssuer('apimw')
    .setAudience('apimw-api')
    .setSubject(keyId)
    .setJti(`forged-${now}`)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(await importJWK(record.privateJwk as JWK, record.alg))
}

/** CONTRACT §2 `GET /auth/jwks.json` (RFC 7517) and §3 signing-key rotation. */
export function jwksCases(h: AdapterHarness): void {
  describe('GET /auth/jwks.json and signing keys', () => {
    it.each(['ES256', 'EdDSA', 'RS256'] as const)(
      'publishes the %s verification key with kid, alg and use "sig", and no private member',
      async (alg) => {
        const f = createFixture(h.listener, { algorithms: [alg] })
        const cred = await f.createKey()
        const { access_token } = await f.token(cred)
        const res = await f.http().get('/auth/jwks.json')
        expect(res.status).toBe(200)
        expect(res.headers['content-type']).toBe('application/json')
        expect(res.headers['cache-control']).toBe('public, max-age=300')
        expect(res.body).toEqual({
          keys: [{ ...PUBLIC_SHAPE[alg], kid: kidOf(access_token), alg, use: 'sig' }],
        })
        for (const member of PRIVATE_MEMBERS) expect(res.body.keys[0]).not.toHaveProperty(member)
      },
    )

    it('publishes the active key before the first token is signed with it', async () => {
      const f = createFixture(h.listener)
      const before = await getJwks(f)
      expect(before.keys).toHaveLength(1)
      const cred = await f.createKey()
      const { access_token } = await f.token(cred)
      expect(kidOf(access_token)).toBe(before.keys[0]?.kid)
      await expect(verifyWithJwks(f, access_token, before)).resolves.toBeDefined()
    })

    it.each(['ES256', 'EdDSA', 'RS256'] as const)(
      'issues %s tokens that verify with jose createLocalJWKSet over the published set',
      async (alg) => {
        const f = createFixture(h.listener, { algorithms: [alg] })
        const cred = await f.createKey()
        const { access_token } = await f.token(cred)
        expect(decodeProtectedHeader(access_token)).toEqual({
          alg,
          typ: 'at+jwt',
          kid: expect.any(String),
        })
        const { payload, protectedHeader } = await verifyWithJwks(f, access_token, await getJwks(f))
        expect(protectedHeader.alg).toBe(alg)
        expect(payload.sub).toBe(cred.key)
        const res = await me(f, access_token)
        expect(res.status).toBe(200)
        expect(res.body.keyId).toBe(cred.key)
      },
    )

    it('publishes both keys after a rotation, keeps old tokens working and signs new ones with the new kid', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const old = await f.token(cred)
      const oldKid = kidOf(old.access_token)
      expect((await me(f, old.access_token)).status).toBe(200)
      const rotated = await f.apimw.signingKeys.rotate()
      expect(rotated.kid).not.toBe(oldKid)
      const jwks = await getJwks(f)
      expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, rotated.kid].sort())
      expect((await me(f, old.access_token)).status).toBe(200)
      const fresh = await f.token(cred)
      expect(kidOf(fresh.access_token)).toBe(rotated.kid)
      expect((await me(f, fresh.access_token)).status).toBe(200)
      await expect(verifyWithJwks(f, old.access_token, jwks)).resolves.toBeDefined()
      await expect(verifyWithJwks(f, fresh.access_token, jwks)).resolves.toBeDefined()
      expect((await f.auditEvents()).filter((e) => e.type === 'signing_key.rotated')).toMatchObject(
        [{ details: { kid: rotated.kid, alg: 'ES256' } }],
      )
    })

    it('retires the previous key once accessTokenTtl + clockTolerance have passed since the rotation', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const old = await f.token(cred)
      const oldKid = kidOf(old.access_token) as string
      const rotated = await f.apimw.signingKeys.rotate()
      f.clock.advance(3600 + 5 - 1)
      // Last second of the window: still published, and the old token is within the tolerance.
      expect((await getJwks(f)).keys.map((k) => k.kid).sort()).toEqual([oldKid, rotated.kid].sort())
      expect((await me(f, old.access_token)).status).toBe(200)
      f.clock.advance(1)
      expect((await getJwks(f)).keys.map((k) => k.kid)).toEqual([rotated.kid])
      const oldRes = await me(f, old.access_token)
      expect(oldRes.status).toBe(401)
      expect(oldRes.body.error).toBe('invalid_token')
      // A token with live claims signed by the retired key (a leaked key) is refused too.
      const forged = await signWith(f, oldKid, cred.key)
      const res = await me(f, forged)
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe(challenge('the token kid is unknown'))
      expect(res.body).toEqual({
        error: 'invalid_token',
        error_description: 'the token kid is unknown',
      })
      // The same forgery with the current key passes: the refusal is the retirement, nothing else.
      expect((await me(f, await signWith(f, rotated.kid, cred.key))).status).toBe(200)
    })

    it('refuses tokens of the previous key at once after rotate({ retirePrevious: true })', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const old = await f.token(cred)
      expect((await me(f, old.access_token)).status).toBe(200)
      const rotated = await f.apimw.signingKeys.rotate({ retirePrevious: true })
      const res = await me(f, old.access_token)
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe(challenge('the token kid is unknown'))
      expect(res.body).toEqual({
        error: 'invalid_token',
        error_description: 'the token kid is unknown',
      })
      expect((await getJwks(f)).keys.map((k) => k.kid)).toEqual([rotated.kid])
      expect((await me(f, (await f.token(cred)).access_token)).status).toBe(200)
    })

    it('never publishes an HS256 key, and HS256 tokens still work', async () => {
      const f = createFixture(h.listener, { algorithms: ['HS256'] })
      const cred = await f.createKey()
      const { access_token } = await f.token(cred)
      expect(decodeProtectedHeader(access_token)).toEqual({
        alg: 'HS256',
        typ: 'at+jwt',
        kid: expect.any(String),
      })
      expect(await getJwks(f)).toEqual({ keys: [] })
      const res = await me(f, access_token)
      expect(res.status).toBe(200)
      expect(res.body.keyId).toBe(cred.key)
      await f.apimw.signingKeys.rotate()
      expect(await getJwks(f)).toEqual({ keys: [] })
      expect((await me(f, access_token)).status).toBe(200)
    })

    it('accepts at once a token signed by a key another instance rotated in, and publishes it within cacheTtl', async () => {
      const f = createFixture(h.listener, { store: withoutChangeFeed(createMemoryStore()) })
      const cred = await f.createKey()
      const old = await f.token(cred)
      const other = createApimw({ store: f.store, clock: f.clock })
      const otherApp = h.listener(other)
      const rotated = await other.signingKeys.rotate()
      const issued = await request(otherApp)
        .post('/auth/token')
        .send({ api_key: cred.key, api_secret: cred.secret })
      expect(issued.status).toBe(200)
      expect(kidOf(issued.body.access_token)).toBe(rotated.kid)
      expect(decodeJwt(issued.body.access_token).sub).toBe(cred.key)
      expect((await me(f, issued.body.access_token)).status).toBe(200)
      expect((await me(f, old.access_token)).status).toBe(200)
      f.clock.advance(5)
      expect((await getJwks(f)).keys.map((k) => k.kid)).toContain(rotated.kid)
      expect(kidOf((await f.token(cred)).access_token)).toBe(rotated.kid)
    })

    it('refuses a token, even one verified before, once another instance retired its key and cacheTtl has passed', async () => {
      const f = createFixture(h.listener, { store: withoutChangeFeed(createMemoryStore()) })
      const cred = await f.createKey()
      const seen = (await f.token(cred)).access_token
      const unseen = (await f.token(cred)).access_token
      expect((await me(f, seen)).status).toBe(200)
      const other = createApimw({ store: f.store, clock: f.clock })
      await other.signingKeys.rotate({ retirePrevious: true })
      // Within the window the first instance may still trust its loaded key list.
      f.clock.advance(5)
      for (const token of [seen, unseen]) {
        const res = await me(f, token)
        expect(res.status).toBe(401)
        expect(res.headers['www-authenticate']).toBe(challenge('the token kid is unknown'))
      }
    })

    it('refuses at once a token whose key another instance retired when the store notifies', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const seen = (await f.token(cred)).access_token
      expect((await me(f, seen)).status).toBe(200)
      const other = createApimw({ store: f.store, clock: f.clock })
      await other.signingKeys.rotate({ retirePrevious: true })
      const res = await me(f, seen)
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe(challenge('the token kid is unknown'))
    })
  })
}
