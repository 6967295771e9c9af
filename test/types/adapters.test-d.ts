import type { AuthContext } from '@apimw/core'
import type * as express from '@apimw/express'
import type * as hono from '@apimw/hono'
import type * as koa from '@apimw/koa'
import Router from '@koa/router'
import { Hono } from 'hono'
import Koa from 'koa'
import { expectTypeOf, test } from 'vitest'

test('every adapter exports the same values (DESIGN §4)', () => {
  expectTypeOf<keyof typeof koa>().toEqualTypeOf<keyof typeof express>()
  expectTypeOf<keyof typeof hono>().toEqualTypeOf<keyof typeof express>()
})

test('koa: ctx.state.auth is the AuthContext after requireBearer()', () => {
  const { requireBearer } = {} as typeof koa
  new Router().get('/', requireBearer({ scopes: ['orders:read'] }), (ctx) => {
    expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthContext>()
  })
  new Koa().use(requireBearer()).use((ctx) => {
    expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthContext>()
  })
  expectTypeOf<koa.ApimwState>().toEqualTypeOf<{ auth: AuthContext }>()
})

test('hono: c.var.auth and c.get("auth") are the AuthContext, with no global ContextVariableMap', () => {
  const { requireBearer } = {} as typeof hono
  new Hono().get('/', requireBearer(), (c) => {
    expectTypeOf(c.var.auth).toEqualTypeOf<AuthContext>()
    expectTypeOf(c.get('auth')).toEqualTypeOf<AuthContext>()
    return c.text('ok')
  })
  new Hono().get('/', (c) => {
    // @ts-expect-error only routes behind requireBearer() have c.var.auth
    c.var.auth
    return c.text('ok')
  })
})

test('misuse does not compile', () => {
  const k = {} as typeof koa
  const h = {} as typeof hono
  // @ts-expect-error scopes is a list
  k.requireBearer({ scopes: 'orders:read' })
  // @ts-expect-error getClientIp returns an address string
  h.apimwAuth({}, { getClientIp: () => 42 })
})
