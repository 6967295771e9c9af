import { createHash } from 'node:crypto'
import { createApimw } from '@apimw/core'
import { decodeJwt } from 'jose'
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
const INVALID_TOKEN_CHALLENGE =
  'Bearer realm="apimw", error="invalid_token", error_description="the access token is invalid"'
const REFRESH_TOKEN = /^apimw_rt_[A-Za-z0-9_-]{43}$/

/** How the stores keep a refresh token (stores/types.ts: `sha256:<base64url>`). */
const storedHash = (token: string) =>
  `sha256:${createHash('sha256').update(token).digest('base64url')}`

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(user)}:${encodeURIComponent(password)}`).toString('base64')}`

/** A refresh through the grant at /auth/token (form-encoded, as OAuth clients send it). */
const refreshGrant = (f: Fixture, refreshToken: string, extra: Record<string, string> = {}) =>
  f
    .http()
    .post('/auth/token')
    .type('form')
    .send({ grant_type: 'refresh_token', refresh_token: refreshToken, ...extra })

/** A refresh through the JSON convenience route. */
const refreshRoute = (f: Fixture, refreshToken: string, extra: Record<string, string> = {}) =>
  f
    .http()
    .post('/auth/refresh')
    .send({ refresh_token: refreshToken, ...extra })

const refreshTokenOf = (body: TokenBody): string => {
  if (body.refresh_token === undefined) throw new Error('the token response has no refresh_token')
  return body.refresh_token
}

/** CONTRACT §2 refresh rows and §4 (RFC 6749 §6, RFC 9700 §4.14). */
export function refreshCases(h: AdapterHarness): void {
  describe('refresh tokens', () => {
    it.each([
      ['grant_type=refresh_token at /auth/token', refreshGrant],
      ['POST /auth/refresh with JSON', refreshRoute],
    ])(
      'rotates through %s: a new access token and a new refresh token, uncacheable',
      async (_name, send) => {
        const f = createFixture(h.listener)
        const cred = await f.createKey()
        const first = await f.token(cred)
        f.clock.advance(60)
        const res = await send(f, refreshTokenOf(first))
        expect(res.status).toBe(200)
        expect(res.headers['cache-control']).toBe('no-store')
        expect(res.headers.pragma).toBe('no-cache')
        expect(res.headers['content-type']).toBe('application/json')
        expect(res.body).toEqual({
          access_token: expect.any(String),
          token_type: 'Bearer',
          expires_in: 3600,
          refresh_token: expect.stringMatching(REFRESH_TOKEN),
          scope: 'orders:read orders:write',
        })
        expect(res.body.refresh_token).not.toBe(first.refresh_token)
        expect(res.body.access_token).not.toBe(first.access_token)
        const now = f.clock.seconds()
        expect(decodeJwt(res.body.access_token)).toEqual({
          iss: 'apimw',
          aud: 'apimw-api',
          sub: cred.key,
          client_id: cred.key,
          jti: expect.any(String),
          iat: now,
          exp: now + 3600,
          scope: 'orders:read orders:write',
          env: 'test',
        })
        const me = await f
          .http()
          .get('/v1/me')
          .set('authorization', `Bearer ${res.body.access_token}`)
        expect(me.status).toBe(200)
        expect(me.body.keyId).toBe(cred.key)
        const used = await f.store.refreshTokens.find(storedHash(refreshTokenOf(first)))
        expect(used).toMatchObject({ keyId: cred.key, usedAt: now, familyRevokedAt: null })
        const next = await f.store.refreshTokens.find(storedHash(res.body.refresh_token))
        expect(next).toMatchObject({
          familyId: used?.familyId,
          usedAt: null,
          familyRevokedAt: null,
        })
        const refreshed = (await f.auditEvents()).filter((e) => e.type === 'token.refreshed')
        expect(refreshed).toMatchObject([
          { keyId: cred.key, details: { scope: 'orders:read orders:write' } },
        ])
      },
    )

    it('keeps rotating: each new refresh token works exactly once', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      let token = refreshTokenOf(await f.token(cred))
      for (let i = 0; i < 3; i++) {
        const res = await refreshRoute(f, token)
        expect(res.status).toBe(200)
        token = res.body.refresh_token
      }
      expect((await f.auditEvents()).filter((e) => e.type === 'token.refreshed')).toHaveLength(3)
    })

    it('answers invalid_grant to a reused refresh token and revokes the family, the legitimate rotation included', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const stolen = refreshTokenOf(await f.token(cred))
      const legitimate = await refreshRoute(f, stolen)
      expect(legitimate.status).toBe(200)
      f.clock.advance(10)
      const reuse = await refreshRoute(f, stolen)
      expect(reuse.status).toBe(400)
      expect(reuse.headers['cache-control']).toBe('no-store')
      expect(reuse.body).toEqual(INVALID_GRANT)
      const afterReuse = await refreshRoute(f, legitimate.body.refresh_token)
      expect(afterReuse.status).toBe(400)
      expect(afterReuse.body).toEqual(INVALID_GRANT)
      const family = await f.store.refreshTokens.find(storedHash(legitimate.body.refresh_token))
      expect(family?.familyRevokedAt).toBe(f.clock.seconds())
      const reused = (await f.auditEvents()).filter((e) => e.type === 'refresh.reused')
      expect(reused).toEqual([
        {
          type: 'refresh.reused',
          at: f.clock().toISOString(),
          keyId: cred.key,
          ip: expect.any(String),
          details: { familyId: family?.familyId },
        },
      ])
      // The audit trail never holds a whole refresh token.
      expect(JSON.stringify(await f.auditEvents())).not.toContain(stolen.slice('apimw_rt_'.length))
    })

    it.each([
      [
        'a scope beyond the family',
        (f: Fixture, token: string) => refreshRoute(f, token, { scope: 'admin' }),
      ],
      [
        "another key's credential",
        async (f: Fixture, token: string) => {
          const other = await f.createKey()
          return refreshGrant(f, token, { api_key: other.key, api_secret: other.secret })
        },
      ],
    ])(
      'treats a used refresh token as reuse even with %s: the family is revoked',
      async (_name, present) => {
        const f = createFixture(h.listener)
        const cred = await f.createKey()
        const stolen = refreshTokenOf(await f.token(cred))
        const legitimate = await refreshRoute(f, stolen)
        expect(legitimate.status).toBe(200)
        const reuse = await present(f, stolen)
        expect(reuse.status).toBe(400)
        expect(reuse.body).toEqual(INVALID_GRANT)
        expect((await refreshRoute(f, legitimate.body.refresh_token)).body).toEqual(INVALID_GRANT)
        const reused = (await f.auditEvents()).filter((e) => e.type === 'refresh.reused')
        expect(reused.map((e) => e.keyId)).toEqual([cred.key])
      },
    )

    it('keeps the first refresh token expiry across rotations and refuses the family once it passes', async () => {
      const ttl = 86_400
      const f = createFixture(h.listener, { refreshTokenTtl: ttl })
      const cred = await f.createKey()
      const started = f.clock.seconds()
      const first = refreshTokenOf(await f.token(cred))
      f.clock.advance(ttl - 100)
      const rotated = await refreshRoute(f, first)
      expect(rotated.status).toBe(200)
      const next = await f.store.refreshTokens.find(storedHash(rotated.body.refresh_token))
      expect(next?.expiresAt).toBe(started + ttl)
      f.clock.advance(99)
      const lastGood = await refreshRoute(f, rotated.body.refresh_token)
      expect(lastGood.status).toBe(200)
      f.clock.advance(1)
      const expired = await refreshRoute(f, lastGood.body.refresh_token)
      expect(expired.status).toBe(400)
      expect(expired.body).toEqual(INVALID_GRANT)
      // The client starts again with its key.
      const fresh = await f.token(cred)
      expect(fresh.refresh_token).toEqual(expect.stringMatching(REFRESH_TOKEN))
    })

    it('answers invalid_grant to an unknown refresh token', async () => {
      const f = createFixture(h.listener)
      const unknown = `apimw_rt_${'A'.repeat(43)}`
      for (const res of [await refreshGrant(f, unknown), await refreshRoute(f, unknown)]) {
        expect(res.status).toBe(400)
        expect(res.body).toEqual(INVALID_GRANT)
      }
    })

    it('answers invalid_grant to an access token sent as refresh_token', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const body = await f.token(cred)
      const res = await refreshGrant(f, body.access_token)
      expect(res.status).toBe(400)
      expect(res.body).toEqual(INVALID_GRANT)
    })

    it('answers invalid_grant once the key was revoked through the API (its families end with it)', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const token = refreshTokenOf(await f.token(cred))
      await f.apimw.keys.revoke(cred.key)
      const res = await refreshRoute(f, token)
      expect(res.status).toBe(400)
      expect(res.body).toEqual(INVALID_GRANT)
      expect((await f.store.refreshTokens.find(storedHash(token)))?.familyRevokedAt).toBe(
        f.clock.seconds(),
      )
    })

    it('checks the key again on refresh: revoked in the store only, or expired, is invalid_grant', async () => {
      const f = createFixture(h.listener)
      const revoked = await f.createKey()
      const expiring = await f.createKey({ expiresIn: 120 })
      const revokedToken = refreshTokenOf(await f.token(revoked))
      const expiringToken = refreshTokenOf(await f.token(expiring))
      // Another process (the CLI) revoked the record without touching the families.
      await f.store.keys.revoke(revoked.key, f.clock.seconds())
      f.clock.advance(120)
      for (const token of [revokedToken, expiringToken]) {
        const res = await refreshRoute(f, token)
        expect(res.status).toBe(400)
        expect(res.body).toEqual(INVALID_GRANT)
        // A refused refresh does not consume the token.
        expect((await f.store.refreshTokens.find(storedHash(token)))?.usedAt).toBeNull()
      }
    })

    it('answers invalid_grant to a refresh token of a key of another environment', async () => {
      const f = createFixture(h.listener, { environment: 'live', requireHttps: false })
      const cred = await f.createKey()
      const token = refreshTokenOf(await f.token(cred))
      const testServer = createApimw({ store: f.store, clock: f.clock, environment: 'test' })
      const res = await request(h.listener(testServer))
        .post('/auth/refresh')
        .send({ refresh_token: token })
      expect(res.status).toBe(400)
      expect(res.body).toEqual(INVALID_GRANT)
    })

    it('accepts a credential of the key that owns the refresh token (Basic and body)', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const first = refreshTokenOf(await f.token(cred))
      const viaBasic = await refreshGrant(f, first).set(
        'authorization',
        basic(cred.key, cred.secret),
      )
      expect(viaBasic.status).toBe(200)
      const viaBody = await refreshGrant(f, viaBasic.body.refresh_token, {
        client_id: cred.key,
        client_secret: cred.secret,
      })
      expect(viaBody.status).toBe(200)
      expect(viaBody.body.refresh_token).toEqual(expect.stringMatching(REFRESH_TOKEN))
    })

    it('answers invalid_grant when a valid credential of another key comes with the refresh token', async () => {
      const f = createFixture(h.listener)
      const owner = await f.createKey()
      const other = await f.createKey()
      const token = refreshTokenOf(await f.token(owner))
      const res = await refreshGrant(f, token, { api_key: other.key, api_secret: other.secret })
      expect(res.status).toBe(400)
      expect(res.body).toEqual(INVALID_GRANT)
      expect((await f.store.refreshTokens.find(storedHash(token)))?.usedAt).toBeNull()
      expect((await refreshRoute(f, token)).status).toBe(200)
    })

    it('answers invalid_client when the credential sent with the refresh token is wrong', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const token = refreshTokenOf(await f.token(cred))
      const viaBody = await refreshGrant(f, token, {
        api_key: cred.key,
        api_secret: `${cred.secret}x`,
      })
      expect(viaBody.status).toBe(401)
      expect(viaBody.body).toEqual(INVALID_CLIENT)
      expect(viaBody.headers['www-authenticate']).toBeUndefined()
      const viaBasic = await refreshRoute(f, token).set('authorization', basic(cred.key, 'wrong'))
      expect(viaBasic.status).toBe(401)
      expect(viaBasic.body).toEqual(INVALID_CLIENT)
      expect(viaBasic.headers['www-authenticate']).toBe('Basic realm="apimw"')
      expect((await f.store.refreshTokens.find(storedHash(token)))?.usedAt).toBeNull()
    })

    it('answers invalid_client when the request carries the credential of the revoked key', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const token = refreshTokenOf(await f.token(cred))
      await f.apimw.keys.revoke(cred.key)
      const res = await refreshGrant(f, token, { api_key: cred.key, api_secret: cred.secret })
      expect(res.status).toBe(401)
      expect(res.body).toEqual(INVALID_CLIENT)
    })

    it('answers access_denied to a refresh from outside the key allowlist, without using the token', async () => {
      const f = createFixture(h.listener, { trustProxy: 'loopback' })
      const cred = await f.createKey({ allowedIps: ['203.0.113.0/24'] })
      const issued = await f
        .http()
        .post('/auth/token')
        .set('x-forwarded-for', '203.0.113.7')
        .send({ api_key: cred.key, api_secret: cred.secret })
      expect(issued.status).toBe(200)
      const token = refreshTokenOf(issued.body)
      const denied = await refreshRoute(f, token).set('x-forwarded-for', '198.51.100.1')
      expect(denied.status).toBe(403)
      expect(denied.body).toEqual({ error: 'access_denied', error_description: expect.any(String) })
      expect(denied.headers['www-authenticate']).toBeUndefined()
      expect((await f.auditEvents()).filter((e) => e.type === 'request.denied')).toMatchObject([
        { keyId: cred.key, ip: '198.51.100.1', reason: 'ip_not_allowed' },
      ])
      const allowed = await refreshRoute(f, token).set('x-forwarded-for', '203.0.113.8')
      expect(allowed.status).toBe(200)
    })

    it('narrows the refreshed access token to a requested subset while the family keeps its scopes', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const first = refreshTokenOf(await f.token(cred))
      const narrowed = await refreshGrant(f, first, { scope: 'orders:read' })
      expect(narrowed.status).toBe(200)
      expect(narrowed.body.scope).toBe('orders:read')
      expect(decodeJwt(narrowed.body.access_token).scope).toBe('orders:read')
      const write = await f
        .http()
        .post('/v1/orders')
        .set('authorization', `Bearer ${narrowed.body.access_token}`)
      expect(write.status).toBe(403)
      // RFC 6749 §6: the new refresh token has the scope of the one it replaces.
      const full = await refreshRoute(f, narrowed.body.refresh_token)
      expect(full.status).toBe(200)
      expect(full.body.scope).toBe('orders:read orders:write')
    })

    it('binds a refresh family to the scopes granted, never widening a narrowed grant', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const narrowed = await f.token(cred, 'orders:read')
      expect(narrowed.scope).toBe('orders:read')
      const refreshed = await refreshRoute(f, refreshTokenOf(narrowed))
      expect(refreshed.status).toBe(200)
      expect(refreshed.body.scope).toBe('orders:read')
      expect(decodeJwt(refreshed.body.access_token).scope).toBe('orders:read')
      const wider = await refreshRoute(f, refreshed.body.refresh_token, { scope: 'orders:write' })
      expect(wider.status).toBe(400)
      expect(wider.body.error).toBe('invalid_scope')
    })

    it('answers invalid_scope to a refresh asking beyond the family scopes, without using the token', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey({ scopes: ['orders:read'] })
      const token = refreshTokenOf(await f.token(cred))
      const res = await refreshRoute(f, token, { scope: 'orders:read orders:write' })
      expect(res.status).toBe(400)
      expect(res.body).toEqual({ error: 'invalid_scope', error_description: expect.any(String) })
      expect((await refreshRoute(f, token)).status).toBe(200)
    })

    it('answers invalid_request when refresh_token is missing', async () => {
      const f = createFixture(h.listener)
      const viaGrant = await f
        .http()
        .post('/auth/token')
        .type('form')
        .send({ grant_type: 'refresh_token' })
      const viaRoute = await f.http().post('/auth/refresh').send({})
      const empty = await refreshRoute(f, '')
      for (const res of [viaGrant, viaRoute, empty]) {
        expect(res.status).toBe(400)
        expect(res.body).toEqual({
          error: 'invalid_request',
          error_description: '"refresh_token" is required',
        })
      }
    })

    it('refuses a refresh token used as a bearer token with invalid_token', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const token = refreshTokenOf(await f.token(cred))
      const res = await f.http().get('/v1/me').set('authorization', `Bearer ${token}`)
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE)
      expect(res.body).toEqual({
        error: 'invalid_token',
        error_description: 'the access token is invalid',
      })
    })

    it('issues no refresh token when refresh tokens are switched off', async () => {
      const f = createFixture(h.listener, { refreshTokens: false })
      const cred = await f.createKey()
      const res = await f
        .http()
        .post('/auth/token')
        .send({ api_key: cred.key, api_secret: cred.secret })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'orders:read orders:write',
      })
    })

    it('lets exactly one of 20 concurrent refreshes of one token win, then revokes the family', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const token = refreshTokenOf(await f.token(cred))
      const results = await Promise.all(Array.from({ length: 20 }, () => refreshRoute(f, token)))
      const winners = results.filter((res) => res.status === 200)
      const losers = results.filter((res) => res.status !== 200)
      expect(winners).toHaveLength(1)
      expect(losers).toHaveLength(19)
      for (const res of losers) {
        expect(res.status).toBe(400)
        expect(res.body).toEqual(INVALID_GRANT)
      }
      const winner = winners[0]!.body as TokenBody
      const after = await refreshRoute(f, refreshTokenOf(winner))
      expect(after.status).toBe(400)
      expect(after.body).toEqual(INVALID_GRANT)
      expect(
        (await f.store.refreshTokens.find(storedHash(refreshTokenOf(winner))))?.familyRevokedAt,
      ).not.toBeNull()
      const events = await f.auditEvents()
      expect(events.filter((e) => e.type === 'token.refreshed')).toHaveLength(1)
      expect(events.filter((e) => e.type === 'refresh.reused').length).toBeGreaterThanOrEqual(1)
    })
  })
}
