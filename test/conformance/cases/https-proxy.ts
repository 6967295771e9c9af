import type { ApimwOptions } from '@apimw/core'
import { describe, expect, it } from 'vitest'
import { contractHeaders, JSON_NO_STORE } from '../../support/contract-headers.js'
import type { Fixture } from '../../support/fixture.js'
import { createFixture } from '../../support/fixture.js'
import type { AdapterHarness } from '../harness.js'

const HTTPS_REQUIRED = { error: 'invalid_request', error_description: 'HTTPS is required' }
const ACCESS_DENIED = {
  error: 'access_denied',
  error_description: 'requests from this address are not allowed for this key',
}

type Headers = Record<string, string>

/** POST /auth/token with the key in the body and extra request headers. */
const tokenRequest = (f: Fixture, cred: { key: string; secret: string }, headers: Headers = {}) =>
  f
    .http()
    .post('/auth/token')
    .set(headers)
    .send({ grant_type: 'client_credentials', api_key: cred.key, api_secret: cred.secret })

/** A fixture whose key is allowlisted for `allowedIps`, plus its credential. */
async function allowlisted(h: AdapterHarness, options: ApimwOptions, allowedIps: string[]) {
  const f = createFixture(h.listener, options)
  const cred = await f.createKey({ allowedIps })
  return { f, cred }
}

/** CONTRACT §6 (HTTPS and proxies) and the HTTPS and IP rows of §2 and §5. */
export function httpsProxyCases(h: AdapterHarness): void {
  describe('requireHttps', () => {
    it.each([
      ['POST', '/auth/token'],
      ['POST', '/auth/refresh'],
      ['POST', '/auth/revoke'],
      ['GET', '/auth/jwks.json'],
    ])('refuses plain HTTP to %s %s with invalid_request', async (method, path) => {
      const f = createFixture(h.listener, { requireHttps: true })
      const cred = await f.createKey()
      const body = { api_key: cred.key, api_secret: cred.secret, token: 'x', refresh_token: 'x' }
      const res = method === 'GET' ? await f.http().get(path) : await f.http().post(path).send(body)
      expect(res.status).toBe(400)
      expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
      expect(res.body).toEqual(HTTPS_REQUIRED)
      const events = await f.auditEvents()
      expect(events.filter((e) => e.type !== 'key.created')).toMatchObject([
        { type: 'auth.failed', reason: 'https_required' },
      ])
      expect(events.some((e) => e.type === 'token.issued')).toBe(false)
    })

    it('refuses a Basic credential over plain HTTP with invalid_request, not a Basic challenge', async () => {
      const f = createFixture(h.listener, { requireHttps: true })
      const cred = await f.createKey()
      const basic = Buffer.from(`${cred.key}:${cred.secret}`).toString('base64')
      const res = await f.http().post('/auth/token').set('authorization', `Basic ${basic}`)
      expect(res.status).toBe(400)
      expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
      expect(res.body).toEqual(HTTPS_REQUIRED)
    })

    it('refuses a valid token over plain HTTP on a guarded route with a Bearer invalid_request challenge', async () => {
      const f = createFixture(h.listener, { requireHttps: true, trustProxy: 'loopback' })
      const cred = await f.createKey()
      const issued = await tokenRequest(f, cred, { 'x-forwarded-proto': 'https' })
      expect(issued.status).toBe(200)
      const res = await f
        .http()
        .get('/v1/me')
        .set('authorization', `Bearer ${issued.body.access_token}`)
      expect(res.status).toBe(400)
      expect(contractHeaders(res)).toEqual({
        ...JSON_NO_STORE,
        'www-authenticate': 'Bearer realm="apimw", error="invalid_request"',
      })
      expect(res.body).toEqual(HTTPS_REQUIRED)
      const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
      expect(denied).toMatchObject([{ reason: 'https_required' }])
    })

    it('refuses plain HTTP on a guarded route before looking for a token', async () => {
      const f = createFixture(h.listener, { requireHttps: true })
      const res = await f.http().get('/v1/orders')
      expect(res.status).toBe(400)
      expect(res.headers['www-authenticate']).toBe('Bearer realm="apimw", error="invalid_request"')
      expect(res.body).toEqual(HTTPS_REQUIRED)
    })

    it('leaves public routes and unknown /auth paths to the application', async () => {
      const f = createFixture(h.listener, { requireHttps: true })
      const health = await f.http().get('/health')
      expect(health.status).toBe(200)
      expect(health.body).toEqual({ ok: true })
      const unknown = await f.http().get('/auth/unknown')
      expect(unknown.status).toBe(404)
    })

    it('is on by default in the live environment', async () => {
      const f = createFixture(h.listener, { environment: 'live' })
      expect(f.apimw.options.requireHttps).toBe(true)
      const cred = await f.createKey()
      expect(cred.key).toMatch(/^apimw_live_/)
      const res = await tokenRequest(f, cred)
      expect(res.status).toBe(400)
      expect(res.body).toEqual(HTTPS_REQUIRED)
      const jwks = await f.http().get('/auth/jwks.json')
      expect(jwks.status).toBe(400)
      expect(jwks.body).toEqual(HTTPS_REQUIRED)
    })

    it('is off by default in the test environment', async () => {
      const f = createFixture(h.listener)
      expect(f.apimw.options.requireHttps).toBe(false)
      const cred = await f.createKey()
      const res = await tokenRequest(f, cred)
      expect(res.status).toBe(200)
      const me = await f
        .http()
        .get('/v1/me')
        .set('authorization', `Bearer ${res.body.access_token}`)
      expect(me.status).toBe(200)
    })

    it('can be switched off explicitly in live', async () => {
      const f = createFixture(h.listener, { environment: 'live', requireHttps: false })
      const cred = await f.createKey()
      const res = await tokenRequest(f, cred)
      expect(res.status).toBe(200)
      expect(res.body.token_type).toBe('Bearer')
    })

    it('accepts X-Forwarded-Proto: https from a trusted proxy (loopback) on /auth and guarded routes', async () => {
      const f = createFixture(h.listener, { environment: 'live', trustProxy: 'loopback' })
      const cred = await f.createKey()
      const res = await tokenRequest(f, cred, { 'x-forwarded-proto': 'https' })
      expect(res.status).toBe(200)
      expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
      const authorization = `Bearer ${res.body.access_token}`
      const me = await f.http().get('/v1/me').set({ authorization, 'x-forwarded-proto': 'https' })
      expect(me.status).toBe(200)
      expect(me.body).toMatchObject({ keyId: cred.key, environment: 'live' })
      const jwks = await f.http().get('/auth/jwks.json').set('x-forwarded-proto', 'https')
      expect(jwks.status).toBe(200)
      const plain = await f.http().get('/v1/me').set({ authorization, 'x-forwarded-proto': 'http' })
      expect(plain.status).toBe(400)
      expect(plain.body).toEqual(HTTPS_REQUIRED)
    })

    it.each([
      ['no trustProxy option', {}],
      ['trustProxy: false', { trustProxy: false }],
    ] as const)('ignores X-Forwarded-Proto with %s', async (_name, options: ApimwOptions) => {
      const f = createFixture(h.listener, { requireHttps: true, ...options })
      const cred = await f.createKey()
      const res = await tokenRequest(f, cred, { 'x-forwarded-proto': 'https' })
      expect(res.status).toBe(400)
      expect(res.body).toEqual(HTTPS_REQUIRED)
    })

    it('ignores X-Forwarded-Proto from a peer outside the trusted CIDRs', async () => {
      const f = createFixture(h.listener, { requireHttps: true, trustProxy: '10.0.0.0/8' })
      const cred = await f.createKey()
      const res = await tokenRequest(f, cred, { 'x-forwarded-proto': 'https' })
      expect(res.status).toBe(400)
      expect(res.body).toEqual(HTTPS_REQUIRED)
    })
  })

  describe('client IP behind proxies (X-Forwarded-For, Express trust-proxy rules)', () => {
    it.each([
      ['no trustProxy option', {}],
      ['trustProxy: false', { trustProxy: false }],
    ] as const)('ignores X-Forwarded-For with %s', async (_name, options: ApimwOptions) => {
      const { f, cred } = await allowlisted(h, options, ['203.0.113.7'])
      const res = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.113.7' })
      expect(res.status).toBe(403)
      expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
      expect(res.body).toEqual(ACCESS_DENIED)
      const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
      expect(denied).toMatchObject([{ keyId: cred.key, reason: 'ip_not_allowed' }])
      expect(denied[0]?.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/)
    })

    it('takes X-Forwarded-For from a trusted loopback proxy as the client IP', async () => {
      const { f, cred } = await allowlisted(h, { trustProxy: 'loopback' }, ['203.0.113.7'])
      const res = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.113.7' })
      expect(res.status).toBe(200)
      const issued = (await f.auditEvents()).filter((e) => e.type === 'token.issued')
      expect(issued).toMatchObject([{ keyId: cred.key, ip: '203.0.113.7' }])
    })

    it('cannot be spoofed by a forged leftmost X-Forwarded-For entry', async () => {
      const { f, cred } = await allowlisted(h, { trustProxy: 'loopback' }, ['203.0.113.7'])
      const res = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' })
      expect(res.status).toBe(403)
      expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
      expect(res.body).toEqual(ACCESS_DENIED)
      const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
      expect(denied).toMatchObject([
        { keyId: cred.key, ip: '198.51.100.9', reason: 'ip_not_allowed' },
      ])
    })

    it('cannot be spoofed with several X-Forwarded-For headers either', async () => {
      const { f, cred } = await allowlisted(h, { trustProxy: 'loopback' }, ['203.0.113.7'])
      // Repeated X-Forwarded-For headers are one list (RFC 9110 §5.3): the last one is the nearest hop.
      const twice = (first: string, second: string) =>
        f
          .http()
          .post('/auth/token')
          .set({ 'x-forwarded-for': [first, second] })
          .send({ api_key: cred.key, api_secret: cred.secret })
      const nearest = await twice('198.51.100.9', '203.0.113.7')
      expect(nearest.status).toBe(200)
      const forged = await twice('203.0.113.7', '198.51.100.9')
      expect(forged.status).toBe(403)
      expect(forged.body).toEqual(ACCESS_DENIED)
      const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
      expect(denied).toMatchObject([{ ip: '198.51.100.9', reason: 'ip_not_allowed' }])
    })

    it('with a hop count of 1 trusts only the peer: the last X-Forwarded-For entry is the client', async () => {
      const { f, cred } = await allowlisted(h, { trustProxy: 1 }, ['203.0.113.7'])
      const one = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.113.7' })
      expect(one.status).toBe(200)
      const forged = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' })
      expect(forged.status).toBe(403)
      expect(forged.body).toEqual(ACCESS_DENIED)
    })

    it('with a hop count of 2 skips one forwarding proxy', async () => {
      const { f, cred } = await allowlisted(h, { trustProxy: 2 }, ['203.0.113.7'])
      const res = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' })
      expect(res.status).toBe(200)
      const three = await tokenRequest(f, cred, {
        'x-forwarded-for': '203.0.113.7, 192.0.2.1, 198.51.100.9',
      })
      expect(three.status).toBe(403)
      const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
      expect(denied).toMatchObject([{ ip: '192.0.2.1', reason: 'ip_not_allowed' }])
    })

    it.each([
      ['a CIDR list', ['127.0.0.1/8', '::1/128', '198.51.100.0/24']],
      ['a comma-separated string', 'loopback, 198.51.100.0/24'],
    ] as const)(
      'trusts the proxies of %s and stops at the first untrusted hop',
      async (_name, trustProxy) => {
        const { f, cred } = await allowlisted(h, { trustProxy }, ['203.0.113.7'])
        const trusted = await tokenRequest(f, cred, {
          'x-forwarded-for': '203.0.113.7, 198.51.100.9',
        })
        expect(trusted.status).toBe(200)
        const untrusted = await tokenRequest(f, cred, {
          'x-forwarded-for': '203.0.113.7, 192.0.2.1',
        })
        expect(untrusted.status).toBe(403)
        expect(untrusted.body).toEqual(ACCESS_DENIED)
        const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
        expect(denied).toMatchObject([{ ip: '192.0.2.1', reason: 'ip_not_allowed' }])
      },
    )

    it('matches an IPv6 forwarded address against IPv6 allowlist entries', async () => {
      const { f, cred } = await allowlisted(h, { trustProxy: 'loopback' }, ['2001:db8::/32'])
      const inside = await tokenRequest(f, cred, { 'x-forwarded-for': '2001:db8:1::7' })
      expect(inside.status).toBe(200)
      const outside = await tokenRequest(f, cred, { 'x-forwarded-for': '2001:db9::7' })
      expect(outside.status).toBe(403)
      expect(outside.body).toEqual(ACCESS_DENIED)
      const v4 = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.113.7' })
      expect(v4.status).toBe(403)
    })

    it('matches an IPv4-mapped IPv6 forwarded address against IPv4 CIDRs', async () => {
      const { f, cred } = await allowlisted(h, { trustProxy: 'loopback' }, ['203.0.113.0/24'])
      const mapped = await tokenRequest(f, cred, { 'x-forwarded-for': '::ffff:203.0.113.7' })
      expect(mapped.status).toBe(200)
      const outside = await tokenRequest(f, cred, { 'x-forwarded-for': '::ffff:198.51.100.9' })
      expect(outside.status).toBe(403)
      expect(outside.body).toEqual(ACCESS_DENIED)
    })

    it('matches an IPv4 forwarded address against an IPv4-mapped IPv6 allowlist entry', async () => {
      const { f, cred } = await allowlisted(h, { trustProxy: 'loopback' }, [
        '::ffff:203.0.113.0/120',
      ])
      const inside = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.113.7' })
      expect(inside.status).toBe(200)
      const outside = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.114.7' })
      expect(outside.status).toBe(403)
    })

    it('refuses a guarded request from outside the allowlist with access_denied and no challenge', async () => {
      const { f, cred } = await allowlisted(h, { trustProxy: 'loopback' }, ['203.0.113.0/24'])
      const issued = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.113.7' })
      expect(issued.status).toBe(200)
      const authorization = `Bearer ${issued.body.access_token}`
      const allowed = await f
        .http()
        .get('/v1/orders')
        .set({ authorization, 'x-forwarded-for': '203.0.113.8' })
      expect(allowed.status).toBe(200)
      expect(allowed.body).toEqual({ orders: [] })
      const res = await f
        .http()
        .get('/v1/orders')
        .set({ authorization, 'x-forwarded-for': '198.51.100.9' })
      expect(res.status).toBe(403)
      expect(contractHeaders(res)).toEqual(JSON_NO_STORE)
      expect(res.body).toEqual(ACCESS_DENIED)
      // A forged leftmost entry does not help on the guard either.
      const forged = await f
        .http()
        .get('/v1/orders')
        .set({ authorization, 'x-forwarded-for': '203.0.113.7, 198.51.100.9' })
      expect(forged.status).toBe(403)
      expect(forged.headers['www-authenticate']).toBeUndefined()
      const denied = (await f.auditEvents()).filter((e) => e.type === 'request.denied')
      expect(denied).toMatchObject([
        { keyId: cred.key, ip: '198.51.100.9', reason: 'ip_not_allowed' },
        { keyId: cred.key, ip: '198.51.100.9', reason: 'ip_not_allowed' },
      ])
    })

    it('refuses a guarded request with X-Forwarded-For when nothing is trusted', async () => {
      const f = createFixture(h.listener, { trustProxy: 'loopback' })
      const cred = await f.createKey({ allowedIps: ['203.0.113.7'] })
      const issued = await tokenRequest(f, cred, { 'x-forwarded-for': '203.0.113.7' })
      expect(issued.status).toBe(200)
      // The same store and keys, served by an instance that trusts no proxy.
      const untrusting = createFixture(h.listener, { store: f.store, clock: f.clock })
      const res = await untrusting
        .http()
        .get('/v1/me')
        .set({
          authorization: `Bearer ${issued.body.access_token}`,
          'x-forwarded-for': '203.0.113.7',
        })
      expect(res.status).toBe(403)
      expect(res.headers['www-authenticate']).toBeUndefined()
      expect(res.body).toEqual(ACCESS_DENIED)
    })
  })
}
