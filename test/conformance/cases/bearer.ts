import type { ApimwOptions, ApimwStore, SigningKeyRecord } from '@apimw/core'
import { createApimw, createMemoryStore } from '@apimw/core'
import type { JWK, JWTHeaderParameters, JWTPayload } from 'jose'
import { base64url, decodeJwt, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import type { Fixture } from '../../support/fixture.js'
import { createFixture } from '../../support/fixture.js'
import type { AdapterHarness } from '../harness.js'

const INVALID_REQUEST_CHALLENGE = 'Bearer realm="apimw", error="invalid_request"'

const challenge = (description: string) =>
  `Bearer realm="apimw", error="invalid_token", error_description="${description}"`

const INVALID = 'the access token is invalid'
const EXPIRED = 'the access token expired'
const KID_UNKNOWN = 'the token kid is unknown'
const NO_KID = 'the token has no kid'
const KEY_REFERENCE = 'the token header carries a key reference'
const REVOKED = 'the access token was revoked'
const KEY_GONE = 'the key of the access token is no longer valid'
const OTHER_ENV = 'the token belongs to another environment'

const me = (f: Fixture, token: string) =>
  f.http().get('/v1/me').set('authorization', `Bearer ${token}`)

type Response = { status: number; headers: Record<string, string>; body: unknown }

/** CONTRACT §5 row 3: 401, the invalid_token challenge with this description, the same in the body. */
function expectInvalidToken(res: Response, description: string): void {
  expect(res.status).toBe(401)
  expect(res.headers['www-authenticate']).toBe(challenge(description))
  expect(res.body).toEqual({ error: 'invalid_token', error_description: description })
}

function expectInvalidRequest(res: Response): void {
  expect(res.status).toBe(400)
  expect(res.headers['www-authenticate']).toBe(INVALID_REQUEST_CHALLENGE)
  expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) })
}

/** The server's active signing key, with its private material, as an attacker who stole it would hold it. */
async function activeKey(
  f: Fixture,
): Promise<SigningKeyRecord & { signKey: CryptoKey | Uint8Array }> {
  const record = (await f.store.signingKeys.list()).find((k) => k.rotatedAt === null)
  if (!record) throw new Error('no active signing key yet: issue a token first')
  return { ...record, signKey: await importJWK(record.privateJwk as JWK, record.alg) }
}

/** Every contract claim, valid now for `keyId`. */
function validClaims(f: Fixture, keyId: string, overrides: JWTPayload = {}): JWTPayload {
  const now = f.clock.seconds()
  return {
    iss: 'apimw',
    aud: 'apimw-api',
    sub: keyId,
    client_id: keyId,
    jti: `forged-${Math.random().toString(36).slice(2)}`,
    iat: now,
    exp: now + 3600,
    scope: 'orders:read orders:write',
    env: 'test',
    ...overrides,
  }
}

/** Signs `claims` with the server's own key; `header` replaces members of the honest header. */
async function forge(
  f: Fixture,
  claims: JWTPayload,
  header: Partial<JWTHeaderParameters> & Record<string, unknown> = {},
): Promise<string> {
  const key = await activeKey(f)
  const protectedHeader = { alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }
  for (const name of Object.keys(protectedHeader)) {
    if (protectedHeader[name as keyof typeof protectedHeader] === undefined) {
      delete protectedHeader[name as keyof typeof protectedHeader]
    }
  }
  return new SignJWT(claims)
    .setProtectedHeader(protectedHeader as JWTHeaderParameters)
    .sign(key.signKey)
}

/** The same store without its change feed: instances then see each other's changes only through cacheTtl. */
function withoutChangeFeed(store: ApimwStore): ApimwStore {
  const { changes: _changes, ...rest } = store
  return rest
}

const encodePart = (value: object) => base64url.encode(JSON.stringify(value))

/** A setup most cases share: a key, a real token, and the signing key made. */
async function withToken(h: AdapterHarness, options: ApimwOptions = {}) {
  const f = createFixture(h.listener, options)
  const cred = await f.createKey()
  const body = await f.token(cred)
  return { f, cred, token: body.access_token }
}

/** CONTRACT §5 `requireBearer()` (RFC 6750) and §3 verification rules, JWT attacks included. */
export function bearerCases(h: AdapterHarness): void {
  describe('requireBearer: request errors', () => {
    it('answers 401 unauthorized with a bare Bearer challenge when there is no Authorization header', async () => {
      const f = createFixture(h.listener)
      const res = await f.http().get('/v1/me')
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Bearer realm="apimw"')
      expect(res.body).toEqual({ error: 'unauthorized', error_description: expect.any(String) })
    })

    it.each([
      [
        'a Basic credential',
        (cred: { key: string; secret: string }) =>
          `Basic ${Buffer.from(`${cred.key}:${cred.secret}`).toString('base64')}`,
      ],
      ['Bearer with an empty token', () => 'Bearer '],
      ['the bare scheme', () => 'Bearer'],
      ['two tokens', () => 'Bearer a.b.c d.e.f'],
      ['another scheme with a token', () => 'Token a.b.c'],
    ])('answers 400 invalid_request to %s', async (_name, header) => {
      const { f, cred } = await withToken(h)
      const res = await f.http().get('/v1/me').set('authorization', header(cred))
      expectInvalidRequest(res)
    })

    it('answers 400 invalid_request to a token in the query string, even with a valid header too', async () => {
      const { f, token } = await withToken(h)
      expectInvalidRequest(await f.http().get(`/v1/me?access_token=${token}`))
      expectInvalidRequest(
        await f
          .http()
          .get(`/v1/orders?x=1&access_token=${token}`)
          .set('authorization', `Bearer ${token}`),
      )
    })

    it('answers 400 invalid_request to two Authorization headers, even if the first is valid', async () => {
      const { f, token } = await withToken(h)
      const res = await f
        .http()
        .get('/v1/me')
        // An array sends the header twice; superagent's types only admit that for Cookie.
        .set('authorization', [`Bearer ${token}`, 'Bearer x.y.z'] as unknown as string)
      expectInvalidRequest(res)
    })

    it('finds a percent-encoded access_token in the query string too', async () => {
      const { f, token } = await withToken(h)
      expectInvalidRequest(await f.http().get(`/v1/me?%61ccess_token=${token}`))
    })

    it('counts requests without credentials in one audit event per interval instead of one each', async () => {
      const f = createFixture(h.listener)
      for (let i = 0; i < 5; i++) expect((await f.http().get('/v1/me')).status).toBe(401)
      expect((await f.auditEvents()).filter((e) => e.type === 'request.denied')).toEqual([])
      await f.apimw.close()
      const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
      expect(denied).toEqual([
        {
          type: 'request.denied',
          at: expect.any(String),
          reason: 'token_missing',
          details: { count: 5, ips: [expect.stringMatching(/127\.0\.0\.1/)] },
        },
      ])
    })

    it('accepts the Bearer scheme in any case', async () => {
      const { f, cred, token } = await withToken(h)
      for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
        const res = await f.http().get('/v1/me').set('authorization', `${scheme} ${token}`)
        expect(res.status).toBe(200)
        expect((res.body as { keyId: string }).keyId).toBe(cred.key)
      }
    })
  })

  describe('requireBearer: success, scope and IP', () => {
    it('hands the handler the auth context: keyId, subject, scopes, environment and claims', async () => {
      const { f, cred, token } = await withToken(h)
      const res = await me(f, token)
      expect(res.status).toBe(200)
      expect(res.body).toEqual({
        keyId: cred.key,
        subject: cred.key,
        scopes: ['orders:read', 'orders:write'],
        environment: 'test',
        claims: decodeJwt(token),
      })
      expect(res.headers['www-authenticate']).toBeUndefined()
    })

    it('answers 403 insufficient_scope naming the required scope when the token lacks it', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const { access_token } = await f.token(cred, 'orders:read')
      expect(
        (await f.http().get('/v1/orders').set('authorization', `Bearer ${access_token}`)).status,
      ).toBe(200)
      const res = await f.http().post('/v1/orders').set('authorization', `Bearer ${access_token}`)
      expect(res.status).toBe(403)
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="apimw", error="insufficient_scope", scope="orders:write"',
      )
      expect(res.body).toEqual({
        error: 'insufficient_scope',
        error_description: expect.any(String),
      })
      const writeOnly = (await f.token(cred, 'orders:write')).access_token
      const read = await f.http().get('/v1/orders').set('authorization', `Bearer ${writeOnly}`)
      expect(read.status).toBe(403)
      expect(read.headers['www-authenticate']).toBe(
        'Bearer realm="apimw", error="insufficient_scope", scope="orders:read"',
      )
      const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
      expect(denied).toMatchObject([
        { keyId: cred.key, reason: 'scope_missing' },
        { keyId: cred.key, reason: 'scope_missing' },
      ])
    })

    it('answers 403 access_denied without a challenge when the request IP is outside the key allowlist', async () => {
      const f = createFixture(h.listener, { trustProxy: 'loopback' })
      const cred = await f.createKey({ allowedIps: ['203.0.113.0/24'] })
      const issued = await f
        .http()
        .post('/auth/token')
        .set('x-forwarded-for', '203.0.113.9')
        .send({ api_key: cred.key, api_secret: cred.secret })
      expect(issued.status).toBe(200)
      const token = issued.body.access_token as string
      const allowed = await me(f, token).set('x-forwarded-for', '203.0.113.10')
      expect(allowed.status).toBe(200)
      const res = await me(f, token).set('x-forwarded-for', '198.51.100.7')
      expect(res.status).toBe(403)
      expect(res.headers['www-authenticate']).toBeUndefined()
      expect(res.body).toEqual({ error: 'access_denied', error_description: expect.any(String) })
      const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
      expect(denied).toMatchObject([
        { keyId: cred.key, ip: '198.51.100.7', reason: 'ip_not_allowed' },
      ])
    })
  })

  describe('requireBearer: invalid tokens', () => {
    it('answers invalid_token to malformed tokens', async () => {
      const { f, token: real } = await withToken(h)
      const malformed = ['abc', 'a.b.c', 'a.b', 'e30.e30.e30', `${real.split('.')[0]}.e30`, '...']
      for (const token of malformed) expectInvalidToken(await me(f, token), INVALID)
    })

    it('answers invalid_token to a bad signature', async () => {
      const { f, token } = await withToken(h)
      const [header, payload, signature] = token.split('.') as [string, string, string]
      const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`
      expectInvalidToken(await me(f, `${header}.${payload}.${flipped}`), INVALID)
      const other = (await withToken(h)).token.split('.')[2]
      expectInvalidToken(await me(f, `${header}.${payload}.${other}`), INVALID)
    })

    it('accepts a token up to clockTolerance (5 s) after exp and refuses it from then on', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const seen = (await f.token(cred)).access_token
      const lateFirstUse = (await f.token(cred)).access_token
      const neverSeen = (await f.token(cred)).access_token
      expect((await me(f, seen)).status).toBe(200)
      f.clock.advance(3600 + 5 - 1)
      expect((await me(f, seen)).status).toBe(200)
      expect((await me(f, lateFirstUse)).status).toBe(200)
      f.clock.advance(1)
      // A token verified before (cached) and one never seen (full verification) alike.
      for (const token of [seen, lateFirstUse, neverSeen])
        expectInvalidToken(await me(f, token), EXPIRED)
    })

    it('answers invalid_token to a revoked token', async () => {
      const { f, token } = await withToken(h, { store: withoutChangeFeed(createMemoryStore()) })
      expect((await me(f, token)).status).toBe(200)
      expect(await f.apimw.revokeAccessToken(token)).toBe(true)
      expectInvalidToken(await me(f, token), REVOKED)
    })

    it('answers invalid_token to a token whose key was revoked or has expired', async () => {
      const f = createFixture(h.listener, { store: withoutChangeFeed(createMemoryStore()) })
      const revoked = await f.createKey()
      const expiring = await f.createKey({ expiresIn: 60 })
      const revokedToken = (await f.token(revoked)).access_token
      const expiringToken = (await f.token(expiring)).access_token
      expect((await me(f, revokedToken)).status).toBe(200)
      expect((await me(f, expiringToken)).status).toBe(200)
      await f.apimw.keys.revoke(revoked.key)
      expectInvalidToken(await me(f, revokedToken), KEY_GONE)
      f.clock.advance(60)
      expectInvalidToken(await me(f, expiringToken), KEY_GONE)
    })

    it('refuses a key revoked by another instance on a store that cannot notify once cacheTtl (5 s) has passed', async () => {
      const { f, cred, token } = await withToken(h, {
        store: withoutChangeFeed(createMemoryStore()),
      })
      expect((await me(f, token)).status).toBe(200)
      const other = createApimw({ store: f.store, clock: f.clock })
      await other.keys.revoke(cred.key)
      // Within the window the first instance may still trust its cached key record.
      f.clock.advance(5)
      expectInvalidToken(await me(f, token), KEY_GONE)
    })

    it('refuses at once a key revoked by another instance when the store notifies', async () => {
      const { f, cred, token } = await withToken(h)
      expect((await me(f, token)).status).toBe(200)
      const other = createApimw({ store: f.store, clock: f.clock })
      await other.keys.revoke(cred.key)
      expectInvalidToken(await me(f, token), KEY_GONE)
    })
  })

  describe('requireBearer: forged tokens (JWT attacks)', () => {
    it('accepts a token forged with the server key and honest claims (control for the cases below)', async () => {
      const { f, cred } = await withToken(h)
      const res = await me(f, await forge(f, validClaims(f, cred.key)))
      expect(res.status).toBe(200)
      expect((res.body as { keyId: string }).keyId).toBe(cred.key)
    })

    it('refuses an unsigned token (alg "none")', async () => {
      const { f, cred } = await withToken(h)
      const { kid } = await activeKey(f)
      const payload = encodePart(validClaims(f, cred.key))
      for (const alg of ['none', 'None', 'NONE']) {
        const unsigned = `${encodePart({ alg, typ: 'at+jwt', kid })}.${payload}.`
        expectInvalidToken(await me(f, unsigned), INVALID)
      }
    })

    it('refuses an HS256 token whose HMAC secret is the server public key', async () => {
      for (const algorithms of [undefined, ['ES256', 'HS256'] as const]) {
        const { f, cred } = await withToken(h, algorithms ? { algorithms } : {})
        const key = await activeKey(f)
        const claims = validClaims(f, cred.key)
        const secrets = [
          new TextEncoder().encode(JSON.stringify(key.publicJwk)),
          new TextEncoder().encode(
            JSON.stringify((await f.http().get('/auth/jwks.json')).body.keys[0]),
          ),
        ]
        for (const secret of secrets) {
          const token = await new SignJWT(claims)
            .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' })
            .sign(secret)
          // Not in the allowlist, or (when HS256 is allowed) not the algorithm of that kid.
          expectInvalidToken(await me(f, token), algorithms ? KID_UNKNOWN : INVALID)
        }
      }
    })

    it('refuses a token whose payload was changed after signing', async () => {
      const { f, token } = await withToken(h)
      const [header, payload, signature] = token.split('.') as [string, string, string]
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as JWTPayload
      for (const change of [
        { scope: 'orders:read orders:write admin' },
        { exp: (claims.exp ?? 0) + 86_400 },
      ]) {
        const tampered = `${header}.${encodePart({ ...claims, ...change })}.${signature}`
        expectInvalidToken(await me(f, tampered), INVALID)
      }
      expect(payload).toBe(encodePart(claims))
    })

    it('refuses a token whose signature was stripped', async () => {
      const { f, token } = await withToken(h)
      const [header, payload] = token.split('.') as [string, string]
      expectInvalidToken(await me(f, `${header}.${payload}.`), INVALID)
      expectInvalidToken(await me(f, `${header}.${payload}`), INVALID)
    })

    it('refuses a token signed by a key the server does not know', async () => {
      const { f, cred } = await withToken(h)
      const { privateKey } = await generateKeyPair('ES256')
      const token = await new SignJWT(validClaims(f, cred.key))
        .setProtectedHeader({ alg: 'ES256', kid: 'attacker-key', typ: 'at+jwt' })
        .sign(privateKey)
      expectInvalidToken(await me(f, token), KID_UNKNOWN)
      // The server kid with the attacker key: the signature fails.
      const { kid } = await activeKey(f)
      const borrowed = await new SignJWT(validClaims(f, cred.key))
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
        .sign(privateKey)
      expectInvalidToken(await me(f, borrowed), INVALID)
    })

    it('refuses a token without kid', async () => {
      const { f, cred } = await withToken(h)
      expectInvalidToken(
        await me(f, await forge(f, validClaims(f, cred.key), { kid: undefined })),
        NO_KID,
      )
    })

    it.each(['jku', 'x5u', 'jwk'] as const)(
      'refuses a token with a %s header, even when the token verifies with the server key',
      async (name) => {
        const { f, cred } = await withToken(h)
        const key = await activeKey(f)
        const value = {
          jku: 'https://attacker.example/jwks.json',
          x5u: 'https://attacker.example/cert.pem',
          jwk: key.publicJwk,
        }[name]
        const token = await forge(f, validClaims(f, cred.key), { [name]: value })
        expectInvalidToken(await me(f, token), KEY_REFERENCE)
      },
    )

    it('refuses a token that embeds the attacker key it was signed with (jwk header)', async () => {
      const { f, cred } = await withToken(h)
      const { kid } = await activeKey(f)
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
      const token = await new SignJWT(validClaims(f, cred.key))
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt', jwk: await exportJWK(publicKey) })
        .sign(privateKey)
      expectInvalidToken(await me(f, token), KEY_REFERENCE)
    })

    it('refuses a token whose typ is not at+jwt, and accepts application/at+jwt (RFC 9068 §4)', async () => {
      const { f, cred } = await withToken(h)
      for (const typ of ['JWT', 'jwt', 'at+JWT+x', undefined]) {
        expectInvalidToken(await me(f, await forge(f, validClaims(f, cred.key), { typ })), INVALID)
      }
      const res = await me(
        f,
        await forge(f, validClaims(f, cred.key), { typ: 'application/at+jwt' }),
      )
      expect(res.status).toBe(200)
    })

    it('refuses a token signed with an algorithm outside the allowlist, even under the server kid', async () => {
      const { f, cred } = await withToken(h)
      const { kid } = await activeKey(f)
      const { privateKey } = await generateKeyPair('RS256')
      const token = await new SignJWT(validClaims(f, cred.key))
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
        .sign(privateKey)
      expectInvalidToken(await me(f, token), INVALID)
    })

    it('refuses a token whose nbf is beyond the clock tolerance, and accepts one within it', async () => {
      const { f, cred } = await withToken(h)
      const now = f.clock.seconds()
      expectInvalidToken(
        await me(f, await forge(f, validClaims(f, cred.key, { nbf: now + 60 }))),
        INVALID,
      )
      expectInvalidToken(
        await me(f, await forge(f, validClaims(f, cred.key, { nbf: now + 6 }))),
        INVALID,
      )
      expect((await me(f, await forge(f, validClaims(f, cred.key, { nbf: now + 5 })))).status).toBe(
        200,
      )
    })

    it('refuses a token for another issuer or audience, or missing a required claim', async () => {
      const { f, cred } = await withToken(h)
      const changes: JWTPayload[] = [
        { iss: 'https://attacker.example' },
        { aud: 'another-api' },
        { aud: ['another-api'] },
        { iss: undefined },
        { aud: undefined },
        { exp: undefined },
        { client_id: 'apimw_test_someoneelse0000000000000' },
      ]
      for (const change of changes) {
        expectInvalidToken(await me(f, await forge(f, validClaims(f, cred.key, change))), INVALID)
      }
    })

    it('refuses a token of the live environment on a test server', async () => {
      const { f, cred } = await withToken(h)
      const forged = await forge(f, validClaims(f, cred.key, { env: 'live' }))
      expectInvalidToken(await me(f, forged), OTHER_ENV)
      // A real token of a live server sharing the store, issuer and signing keys.
      const live = createApimw({
        store: f.store,
        clock: f.clock,
        environment: 'live',
        requireHttps: false,
      })
      const liveApp = h.listener(live)
      const { record, secret } = await live.keys.create({ name: 'live', scopes: ['orders:read'] })
      const issued = await request(liveApp)
        .post('/auth/token')
        .send({ api_key: record.key, api_secret: secret })
      expect(issued.status).toBe(200)
      const token = issued.body.access_token as string
      expect(
        (await request(liveApp).get('/v1/me').set('authorization', `Bearer ${token}`)).status,
      ).toBe(200)
      expectInvalidToken(await me(f, token), OTHER_ENV)
    })
  })
}
