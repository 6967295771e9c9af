/**
 * Guard throughput: APIMW's full guard decision (signature, claims, revocation, key status, IP,
 * scopes) with and without its verified-token cache, against the bare signature checks its peers
 * run (jose: express-oauth2-jwt-bearer and hono/jwk; jsonwebtoken: express-jwt and koa-jwt;
 * hono/jwt). Same ES256 tokens, same process, same run. Prints operations per second and ratios.
 *
 *   pnpm bench            (BENCH_SECONDS=2 for longer runs)
 */

import { createPublicKey } from 'node:crypto'
import type { Apimw, WireRequest } from '@apimw/core'
import { createApimw, createMemoryStore } from '@apimw/core'
import { verify as honoVerify } from 'hono/jwt'
import type { JWK } from 'jose'
import { createLocalJWKSet, decodeJwt, importJWK, jwtVerify, SignJWT } from 'jose'
import jsonwebtoken from 'jsonwebtoken'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1)

const store = createMemoryStore()
const apimw = createApimw({ store, refreshTokens: false })
// The same store without the verified-token cache (signature work on every call), and with no
// cache at all (the signing keys, key status and revocation are read from the store every call).
const noVerifyCache = createApimw({ store, refreshTokens: false, verifyCacheSize: 1 })
const noCaches = createApimw({ store, refreshTokens: false, verifyCacheSize: 1, cacheTtl: 0 })
const { record, secret } = await apimw.keys.create({ name: 'bench', scopes: ['orders:read'] })

async function issue(): Promise<string> {
  const res = await apimw.handle(
    wire('POST', '/auth/token', `Basic ${btoa(`${record.key}:${secret}`)}`),
  )
  return JSON.parse(res?.body ?? '{}').access_token as string
}

function wire(method: string, target: string, authorization: string): WireRequest {
  return {
    method,
    target,
    header: (name) => (name === 'authorization' ? authorization : undefined),
    peer: { address: '127.0.0.1', encrypted: false },
    body: async () => ({ raw: new Uint8Array() }),
  }
}

const guard = (instance: Apimw, token: string) =>
  instance.authenticate(wire('GET', '/v1/orders', `Bearer ${token}`), { scopes: ['orders:read'] })

const token = await issue()
const distinct: string[] = []
for (let i = 0; i < 2_000; i++) distinct.push(await issue())

const jwks = await (async () => {
  const res = await apimw.handle(wire('GET', '/auth/jwks.json', ''))
  return JSON.parse(res?.body ?? '{}') as { keys: JWK[] }
})()
const publicJwk = jwks.keys[0]!
const localSet = createLocalJWKSet(jwks)
// hono/jwt refuses typ "at+jwt" (RFC 9068): give it the same claims and key with typ "JWT".
const [signing] = await store.signingKeys.list()
const plainToken = await new SignJWT(decodeJwt(token))
  .setProtectedHeader({ alg: 'ES256', kid: signing!.kid, typ: 'JWT' })
  .sign(await importJWK(signing!.privateJwk, 'ES256'))
const pem = createPublicKey({ key: publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' })
  .export({ type: 'spki', format: 'pem' })
  .toString()

async function measure(
  name: string,
  run: (i: number) => Promise<unknown> | unknown,
): Promise<number> {
  for (let i = 0; i < 200; i++) await run(i)
  let count = 0
  const end = performance.now() + SECONDS * 1000
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) await run(count++)
  }
  const perSecond = count / SECONDS
  console.log(`${name.padEnd(52)} ${Math.round(perSecond).toLocaleString('en').padStart(10)} ops/s`)
  return perSecond
}

const ok = async (result: Promise<{ ok: boolean }>) => {
  if (!(await result).ok) throw new Error('guard refused a valid token')
}

console.log(`ES256, ${SECONDS}s per case, Node ${process.version}\n`)
const results = {
  cached: await measure('apimw guard, repeated token (cache hit)', () => ok(guard(apimw, token))),
  uncached: await measure('apimw guard, verify cache off', (i) =>
    ok(guard(noVerifyCache, distinct[i % distinct.length]!)),
  ),
  noCaches: await measure('apimw guard, every cache off', (i) =>
    ok(guard(noCaches, distinct[i % distinct.length]!)),
  ),
  jose: await measure('jose jwtVerify (express-oauth2-jwt-bearer, hono/jwk)', () =>
    jwtVerify(token, localSet, { algorithms: ['ES256'], issuer: 'apimw', audience: 'apimw-api' }),
  ),
  jsonwebtoken: await measure('jsonwebtoken.verify (express-jwt, koa-jwt)', () =>
    jsonwebtoken.verify(token, pem, {
      algorithms: ['ES256'],
      issuer: 'apimw',
      audience: 'apimw-api',
    }),
  ),
  hono: await measure('hono/jwt verify (typ JWT)', () =>
    honoVerify(plainToken, publicJwk, 'ES256'),
  ),
}

console.log('\nratios (higher is faster):')
for (const [name, value] of Object.entries(results)) {
  console.log(
    `  ${name.padEnd(14)} ${(value / results.jose).toFixed(2)}x jose   ${(value / results.jsonwebtoken).toFixed(2)}x jsonwebtoken   ${(value / results.uncached).toFixed(2)}x apimw uncached`,
  )
}
