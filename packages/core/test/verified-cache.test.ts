import { describe, expect, it } from 'vitest'
import { createApimw } from '../src/create-apimw.js'
import { wireRequest as request } from './support/wire.js'

describe('verified-token cache', () => {
  it('hands out frozen claims: a handler cannot widen what the next request with the token gets', async () => {
    const apimw = createApimw()
    const { record, secret } = await apimw.keys.create({ name: 'k', scopes: ['orders:read'] })
    const res = await apimw.handle(
      request('/auth/token', `Basic ${btoa(`${record.key}:${secret}`)}`),
    )
    const token = JSON.parse(res?.body ?? '{}').access_token as string
    const first = await apimw.authenticate(request('/v1/me', `Bearer ${token}`))
    if (!first.ok) throw new Error('a valid token was refused')
    expect(Object.isFrozen(first.auth.claims)).toBe(true)
    expect(() => {
      ;(first.auth.claims as { scope: string }).scope += ' admin'
    }).toThrow(TypeError)
    first.auth.scopes.push('admin')
    const second = await apimw.authenticate(request('/v1/me', `Bearer ${token}`), {
      scopes: ['admin'],
    })
    expect(second.ok).toBe(false)
  })
})
