import type { Apimw, WireRequest } from '@apimw/core'

/** A frozen instant: cached state can only go stale through a notification, never through time. */
export const FROZEN = new Date('2026-01-01T00:00:00Z')
export const frozenClock = () => FROZEN

const request = (target: string, authorization: string): WireRequest => ({
  method: target.startsWith('/auth') ? 'POST' : 'GET',
  target,
  header: (name) => (name === 'authorization' ? authorization : undefined),
  peer: { address: '127.0.0.1', encrypted: false },
  body: async () => ({ raw: new Uint8Array() }),
})

/** A new key on `apimw` and an access token for it, through the token route. */
export async function keyAndToken(apimw: Apimw): Promise<{ key: string; token: string }> {
  const { record, secret } = await apimw.keys.create({ name: 'k', scopes: ['orders:read'] })
  const res = await apimw.handle(request('/auth/token', `Basic ${btoa(`${record.key}:${secret}`)}`))
  if (res?.status !== 200) throw new Error(`token: ${res?.status} ${res?.body}`)
  return { key: record.key, token: JSON.parse(res.body ?? '{}').access_token as string }
}

/** The guard's decision for a request with `token`: its status (200 when allowed). */
export async function guardStatus(apimw: Apimw, token: string): Promise<number> {
  const result = await apimw.authenticate(request('/v1/orders', `Bearer ${token}`))
  return result.ok ? 200 : result.response.status
}
