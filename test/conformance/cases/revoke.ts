import { createHash } from 'node:crypto'
import type { ApimwStore } from '@apimw/core'
import { createApimw, createMemoryStore } from '@apimw/core'
import { decodeJwt, generateKeyPair, SignJWT } from 'jose'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import type { Fixture, TokenBody } from '../../support/fixture.js'
import { createFixture } from '../../support/fixture.js'
import type { AdapterHarness } from '../harness.js'

const INVALID_GRANT = {
  error: 'invalid_grant',
  error_description: 'the refresh token is invalid, expired or revoked',
}
const INVALID_CLIENT = {
  error: 'invalid_client',
  error_description: 'client authentication failed',
}

const storedHash = (token: string) =>
  `sha256:${createHash('sha256').update(token).digest('base64url')}`

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(user)}:${encodeURIComponent(password)}`).toString('base64')}`

const challenge = (description: string) =>
  `Bearer realm="apimw", error="invalid_token", error_description="${description}"`

/** The same store without its change feed: instances then see each other's changes only through cacheTtl. */
function withoutChangeFeed(store: ApimwStore): ApimwStore {
  const { changes: _changes, ...rest } = store
  return rest
}

const revoke = (f: Fixture, params: Record<string, string>) =>
  f.http().post('/auth/revoke').type('form').send(params)

const me = (f: Fixture, token: string) =>
  f.http().get('/v1/me').set('authorization', `Bearer ${token}`)

const refresh = (f: Fixture, token: string) =>
  f.http().post('/auth/refresh').send({ refresh_token: token })

const refreshTokenOf = (body: TokenBody): string => {
  if (body.refresh_token === undefined) throw new Error('the token response has no refresh_token')
  return body.refresh_token
}

/** CONTRACT §2 `POST /auth/revoke` (RFC 7009) and §3 "a token stops working when it is revoked". */
export function revokeCases(h: AdapterHarness): void {
  describe('POST /auth/revoke', () => {
    it('revokes an access token: 200, and the token is refused at once on a guarded route', async () => {
      // A store without a change feed: this instance alone must apply its own change at once.
      const f = createFixture(h.listener, { store: withoutChangeFeed(createMemoryStore()) })
      const cred = await f.createKey()
      const { access_token } = await f.token(cred)
      // Prime every cache of the guard first: the revocation must still apply at once.
      expect((await me(f, access_token)).status).toBe(200)
      const res = await revoke(f, { token: access_token })
      expect(res.status).toBe(200)
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.body).toEqual({})
      const after = await me(f, access_token)
      expect(after.status).toBe(401)
      expect(after.headers['www-authenticate']).toBe(challenge('the access token was revoked'))
      expect(after.body).toEqual({
        error: 'invalid_token',
        error_description: 'the access token was revoked',
      })
      const { jti } = decodeJwt(access_token)
      expect(await f.store.revocations.isRevoked(String(jti), f.clock.seconds())).toBe(true)
      const revoked = (await f.auditEvents()).filter((e) => e.type === 'token.revoked')
      expect(revoked).toEqual([
        {
          type: 'token.revoked',
          at: f.clock().toISOString(),
          keyId: cred.key,
          ip: expect.any(String),
          details: { tokenType: 'access_token' },
        },
      ])
      expect(JSON.stringify(await f.auditEvents())).not.toContain(access_token.split('.')[2])
    })

    it('revokes the whole family of a refresh token, the tokens of later rotations included', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const first = refreshTokenOf(await f.token(cred))
      const rotated = await refresh(f, first)
      expect(rotated.status).toBe(200)
      const res = await f.http().post('/auth/revoke').send({ token: first })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({})
      const after = await refresh(f, rotated.body.refresh_token)
      expect(after.status).toBe(400)
      expect(after.body).toEqual(INVALID_GRANT)
      const family = await f.store.refreshTokens.find(storedHash(rotated.body.refresh_token))
      expect(family?.familyRevokedAt).toBe(f.clock.seconds())
      const revoked = (await f.auditEvents()).filter((e) => e.type === 'token.revoked')
      expect(revoked).toMatchObject([{ keyId: cred.key, details: { tokenType: 'refresh_token' } }])
      // A revocation is not a reuse.
      expect((await f.auditEvents()).filter((e) => e.type === 'refresh.reused')).toEqual([])
    })

    it('finds the token whatever token_type_hint says (RFC 7009 §2.1)', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const body = await f.token(cred)
      const access = await revoke(f, { token: body.access_token, token_type_hint: 'refresh_token' })
      expect(access.status).toBe(200)
      expect((await me(f, body.access_token)).status).toBe(401)
      const refreshToken = refreshTokenOf(body)
      const rt = await revoke(f, { token: refreshToken, token_type_hint: 'access_token' })
      expect(rt.status).toBe(200)
      expect((await refresh(f, refreshToken)).body).toEqual(INVALID_GRANT)
    })

    it('answers 200 to unknown, garbage and foreign tokens and revokes nothing', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const body = await f.token(cred)
      const { privateKey } = await generateKeyPair('ES256')
      const now = f.clock.seconds()
      const foreign = await new SignJWT({ sub: cred.key, jti: 'x', scope: 'orders:read' })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'foreign' })
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(privateKey)
      for (const token of ['garbage', `apimw_rt_${'A'.repeat(43)}`, 'a.b.c', foreign]) {
        const res = await revoke(f, { token })
        expect(res.status).toBe(200)
        expect(res.body).toEqual({})
      }
      expect((await f.auditEvents()).filter((e) => e.type === 'token.revoked')).toEqual([])
      expect((await me(f, body.access_token)).status).toBe(200)
      expect((await refresh(f, refreshTokenOf(body))).status).toBe(200)
    })

    it('answers 200 to an access token that has already expired', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const { access_token } = await f.token(cred)
      f.clock.advance(3600 + 5)
      const res = await revoke(f, { token: access_token })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({})
    })

    it('answers invalid_request when token is missing or empty', async () => {
      const f = createFixture(h.listener)
      for (const body of [{}, { token: '' }, { token_type_hint: 'access_token' }]) {
        const res = await f.http().post('/auth/revoke').send(body)
        expect(res.status).toBe(400)
        expect(res.body).toEqual({
          error: 'invalid_request',
          error_description: '"token" is required',
        })
      }
    })

    it('revokes with a valid credential of the owning key (Basic and body)', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const body = await f.token(cred)
      const viaBasic = await revoke(f, { token: body.access_token }).set(
        'authorization',
        basic(cred.key, cred.secret),
      )
      expect(viaBasic.status).toBe(200)
      expect((await me(f, body.access_token)).status).toBe(401)
      const viaBody = await revoke(f, {
        token: refreshTokenOf(body),
        api_key: cred.key,
        api_secret: cred.secret,
      })
      expect(viaBody.status).toBe(200)
      expect((await refresh(f, refreshTokenOf(body))).body).toEqual(INVALID_GRANT)
    })

    it('answers invalid_client to a wrong credential and revokes nothing', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const body = await f.token(cred)
      const viaBody = await revoke(f, {
        token: body.access_token,
        api_key: cred.key,
        api_secret: `${cred.secret}x`,
      })
      expect(viaBody.status).toBe(401)
      expect(viaBody.body).toEqual(INVALID_CLIENT)
      expect(viaBody.headers['www-authenticate']).toBeUndefined()
      const viaBasic = await revoke(f, { token: refreshTokenOf(body) }).set(
        'authorization',
        basic(cred.key, 'wrong'),
      )
      expect(viaBasic.status).toBe(401)
      expect(viaBasic.body).toEqual(INVALID_CLIENT)
      expect(viaBasic.headers['www-authenticate']).toBe('Basic realm="apimw"')
      expect((await me(f, body.access_token)).status).toBe(200)
      expect((await refresh(f, refreshTokenOf(body))).status).toBe(200)
    })

    it('refuses to revoke a token of another key with invalid_grant and leaves it working', async () => {
      // RFC 7009 §2.1: a token that was not issued to the authenticated client is refused;
      // RFC 6749 §5.2 names that invalid_grant ("issued to another client").
      const f = createFixture(h.listener)
      const owner = await f.createKey()
      const other = await f.createKey()
      const body = await f.token(owner)
      for (const token of [body.access_token, refreshTokenOf(body)]) {
        const res = await revoke(f, { token, api_key: other.key, api_secret: other.secret })
        expect(res.status).toBe(400)
        expect(res.body).toEqual({ error: 'invalid_grant', error_description: expect.any(String) })
      }
      expect((await me(f, body.access_token)).status).toBe(200)
      expect((await refresh(f, refreshTokenOf(body))).status).toBe(200)
      expect((await f.auditEvents()).filter((e) => e.type === 'token.revoked')).toEqual([])
    })

    it('ends the access tokens of a key revoked through apimw.keys.revoke() at once, and its refresh families', async () => {
      // A store without a change feed: this instance alone must apply its own change at once.
      const f = createFixture(h.listener, { store: withoutChangeFeed(createMemoryStore()) })
      const cred = await f.createKey()
      const kept = await f.createKey()
      const body = await f.token(cred)
      const second = await f.token(cred)
      const other = await f.token(kept)
      expect((await me(f, body.access_token)).status).toBe(200)
      await f.apimw.keys.revoke(cred.key)
      for (const token of [body.access_token, second.access_token]) {
        const res = await me(f, token)
        expect(res.status).toBe(401)
        expect(res.headers['www-authenticate']).toBe(
          challenge('the key of the access token is no longer valid'),
        )
        expect(res.body).toEqual({
          error: 'invalid_token',
          error_description: 'the key of the access token is no longer valid',
        })
      }
      for (const token of [refreshTokenOf(body), refreshTokenOf(second)]) {
        expect((await refresh(f, token)).body).toEqual(INVALID_GRANT)
      }
      expect((await me(f, other.access_token)).status).toBe(200)
      expect((await refresh(f, refreshTokenOf(other))).status).toBe(200)
      expect((await f.auditEvents()).filter((e) => e.type === 'key.revoked')).toMatchObject([
        { keyId: cred.key },
      ])
    })

    it('stops an access token revoked through another instance on a store that cannot notify within cacheTtl', async () => {
      const f = createFixture(h.listener, { store: withoutChangeFeed(createMemoryStore()) })
      const cred = await f.createKey()
      const { access_token } = await f.token(cred)
      expect((await me(f, access_token)).status).toBe(200)
      const otherInstance = createApimw({ store: f.store, clock: f.clock })
      const res = await request(h.listener(otherInstance))
        .post('/auth/revoke')
        .send({ token: access_token })
      expect(res.status).toBe(200)
      // Within the window the first instance may still trust its cached revocation status.
      f.clock.advance(5)
      const after = await me(f, access_token)
      expect(after.status).toBe(401)
      expect(after.headers['www-authenticate']).toBe(challenge('the access token was revoked'))
    })

    it('stops an access token revoked through another instance at once when the store notifies', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const { access_token } = await f.token(cred)
      expect((await me(f, access_token)).status).toBe(200)
      const otherInstance = createApimw({ store: f.store, clock: f.clock })
      expect(await otherInstance.revokeAccessToken(access_token)).toBe(true)
      const after = await me(f, access_token)
      expect(after.status).toBe(401)
      expect(after.headers['www-authenticate']).toBe(challenge('the access token was revoked'))
    })
  })
}
