import { decodeJwt, decodeProtectedHeader } from 'jose'
import { describe, expect, it } from 'vitest'
import { createFixture } from '../../support/fixture.js'
import type { AdapterHarness } from '../harness.js'

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(user)}:${encodeURIComponent(password)}`).toString('base64')}`

const INVALID_CLIENT = {
  error: 'invalid_client',
  error_description: 'client authentication failed',
}

/** CONTRACT §2 `POST /auth/token`, client_credentials grant, and §3 token claims. */
export function tokenCases(h: AdapterHarness): void {
  describe('POST /auth/token (client_credentials)', () => {
    it('issues a Bearer token and a refresh token for a valid key and secret, uncacheable', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const res = await f
        .http()
        .post('/auth/token')
        .type('form')
        .send({ grant_type: 'client_credentials', api_key: cred.key, api_secret: cred.secret })
      expect(res.status).toBe(200)
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.headers.pragma).toBe('no-cache')
      expect(res.headers['content-type']).toBe('application/json')
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: expect.stringMatching(/^apimw_rt_[A-Za-z0-9_-]{43}$/),
        scope: 'orders:read orders:write',
      })
      const events = await f.auditEvents()
      expect(events.filter((e) => e.type === 'token.issued').map((e) => e.keyId)).toEqual([
        cred.key,
      ])
    })

    it('signs an RFC 9068 access token with every contract claim', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const body = await f.token(cred)
      const header = decodeProtectedHeader(body.access_token)
      expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) })
      const claims = decodeJwt(body.access_token)
      const now = f.clock.seconds()
      expect(claims).toEqual({
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
    })

    it('treats an omitted grant_type as client_credentials', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const res = await f
        .http()
        .post('/auth/token')
        .set('authorization', basic(cred.key, cred.secret))
      expect(res.status).toBe(200)
      expect(res.body.token_type).toBe('Bearer')
    })

    it('accepts client_id and client_secret in the body', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const res = await f
        .http()
        .post('/auth/token')
        .send({ client_id: cred.key, client_secret: cred.secret })
      expect(res.status).toBe(200)
    })

    it('form-url-decodes the Basic user and password (RFC 6749 §2.3.1)', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      // base64url secrets contain "-" and "_"; percent-encode every character to prove decoding.
      const encoded = [...cred.secret]
        .map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
        .join('')
      const header = `Basic ${Buffer.from(`${cred.key}:${encoded}`).toString('base64')}`
      const res = await f.http().post('/auth/token').set('authorization', header)
      expect(res.status).toBe(200)
    })

    it('narrows the token to a requested subset of the key scopes', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const res = await f
        .http()
        .post('/auth/token')
        .send({ api_key: cred.key, api_secret: cred.secret, scope: 'orders:read' })
      expect(res.status).toBe(200)
      expect(res.body.scope).toBe('orders:read')
      expect(decodeJwt(res.body.access_token).scope).toBe('orders:read')
    })

    it('answers invalid_scope for a scope the key does not hold', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const res = await f
        .http()
        .post('/auth/token')
        .send({ api_key: cred.key, api_secret: cred.secret, scope: 'orders:read admin' })
      expect(res.status).toBe(400)
      expect(res.body).toEqual({ error: 'invalid_scope', error_description: expect.any(String) })
    })

    it('honours a configured access-token lifetime in expires_in and exp', async () => {
      const f = createFixture(h.listener, { accessTokenTtl: 600 })
      const cred = await f.createKey()
      const body = await f.token(cred)
      expect(body.expires_in).toBe(600)
      expect(decodeJwt(body.access_token).exp).toBe(f.clock.seconds() + 600)
    })

    it('omits refresh_token when refresh tokens are switched off', async () => {
      const f = createFixture(h.listener, { refreshTokens: false })
      const cred = await f.createKey()
      const body = await f.token(cred)
      expect(body).not.toHaveProperty('refresh_token')
    })

    it.each([
      ['no credential', {}],
      ['api_key without api_secret', { api_key: 'apimw_test_aaaaaaaaaaaaaaaaaaaaaa' }],
      ['api_secret without api_key', { api_secret: 'x' }],
      [
        'api_key with client_secret',
        { api_key: 'apimw_test_aaaaaaaaaaaaaaaaaaaaaa', client_secret: 'x' },
      ],
      [
        'two body credentials',
        { api_key: 'a', api_secret: 'b', client_id: 'a', client_secret: 'b' },
      ],
    ])('answers invalid_request for %s', async (_name, body) => {
      const f = createFixture(h.listener)
      const res = await f.http().post('/auth/token').send(body)
      expect(res.status).toBe(400)
      expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) })
    })

    it('answers invalid_request for Basic and a body credential together', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const res = await f
        .http()
        .post('/auth/token')
        .set('authorization', basic(cred.key, cred.secret))
        .send({ api_key: cred.key, api_secret: cred.secret })
      expect(res.status).toBe(400)
      expect(res.body.error).toBe('invalid_request')
    })

    it('answers one identical invalid_client body for every cause, with a Basic challenge only for Basic', async () => {
      const f = createFixture(h.listener)
      const good = await f.createKey()
      const revoked = await f.createKey()
      await f.apimw.keys.revoke(revoked.key)
      const expiring = await f.createKey({ expiresIn: 60 })
      const live = await f.createKey({ environment: 'live' })
      f.clock.advance(61)
      const cases = [
        { key: 'apimw_test_unknownunknownunknown1', secret: good.secret },
        { key: good.key, secret: `${good.secret}x` },
        { key: 'not-a-key', secret: 'x' },
        revoked,
        expiring,
        live,
      ]
      for (const cred of cases) {
        const viaBody = await f
          .http()
          .post('/auth/token')
          .send({ api_key: cred.key, api_secret: cred.secret })
        expect(viaBody.status).toBe(401)
        expect(viaBody.body).toEqual(INVALID_CLIENT)
        expect(viaBody.headers['www-authenticate']).toBeUndefined()
        const viaBasic = await f
          .http()
          .post('/auth/token')
          .set('authorization', basic(cred.key, cred.secret))
        expect(viaBasic.status).toBe(401)
        expect(viaBasic.body).toEqual(INVALID_CLIENT)
        expect(viaBasic.headers['www-authenticate']).toBe('Basic realm="apimw"')
      }
      const failures = (await f.auditEvents())
        .filter((e) => e.type === 'auth.failed')
        .map((e) => e.reason)
      expect(new Set(failures)).toEqual(
        new Set([
          'key_unknown',
          'secret_mismatch',
          'key_malformed',
          'key_revoked',
          'key_expired',
          'wrong_environment',
        ]),
      )
    })

    it('answers unsupported_grant_type for an unknown grant', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey()
      const res = await f
        .http()
        .post('/auth/token')
        .send({ grant_type: 'password', api_key: cred.key, api_secret: cred.secret })
      expect(res.status).toBe(400)
      expect(res.body).toEqual({
        error: 'unsupported_grant_type',
        error_description: expect.any(String),
      })
    })

    it('answers access_denied after a valid secret from an address outside the allowlist', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey({ allowedIps: ['203.0.113.0/24'] })
      const res = await f
        .http()
        .post('/auth/token')
        .send({ api_key: cred.key, api_secret: cred.secret })
      expect(res.status).toBe(403)
      expect(res.body).toEqual({ error: 'access_denied', error_description: expect.any(String) })
      const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
      expect(denied).toMatchObject([{ keyId: cred.key, reason: 'ip_not_allowed' }])
    })

    it('accepts a key whose allowlist holds the caller (IPv4 loopback, also as IPv4-mapped IPv6)', async () => {
      const f = createFixture(h.listener)
      const cred = await f.createKey({ allowedIps: ['127.0.0.0/8', '::1'] })
      const res = await f
        .http()
        .post('/auth/token')
        .send({ api_key: cred.key, api_secret: cred.secret })
      expect(res.status).toBe(200)
    })
  })
}
