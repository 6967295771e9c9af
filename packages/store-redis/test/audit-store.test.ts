import type { AuditEvent } from '@apimw/core'
import { describe, expect, it } from 'vitest'
import { createRedisStore } from '../src/index.js'
import { drivers, keysUnder, useRedis } from './redis-clients.js'

const event = (i: number, keyId?: string): AuditEvent => ({
  type: 'token.issued',
  at: new Date((1_700_000_000 + i) * 1000).toISOString(),
  ...(keyId === undefined ? {} : { keyId }),
  details: { i },
})

describe.each(drivers)('audit on Redis ($name)', (driver) => {
  const redis = useRedis(driver)

  it('keeps the newest events, oldest first, capped overall and per key', async () => {
    const { clients, prefix } = redis()
    const store = createRedisStore({
      client: clients[0],
      keyPrefix: prefix,
      maxAuditEvents: 5,
      maxAuditEventsPerKey: 2,
    })
    for (let i = 0; i < 8; i++)
      await store.audit.write(event(i, i % 2 === 0 ? 'k-even' : undefined))
    expect((await store.audit.tail({ limit: 100 })).map((e) => e.details?.i)).toEqual([
      3, 4, 5, 6, 7,
    ])
    expect((await store.audit.tail({ limit: 2 })).map((e) => e.details?.i)).toEqual([6, 7])
    expect(await store.audit.tail({ keyId: 'k-even', limit: 10 })).toEqual([
      event(4, 'k-even'),
      event(6, 'k-even'),
    ])
    expect(await store.audit.tail({ keyId: 'k-none', limit: 10 })).toEqual([])
    expect(await store.audit.tail({ limit: 0 })).toEqual([])
    const ttl = (await clients[0].call('TTL', `${prefix}audit-key:k-even`)) as number
    expect(ttl).toBeGreaterThan(29 * 86_400)
  })

  it('keeps at most maxAuditKeys per-key lists, deleting the least recently written', async () => {
    const { clients, prefix } = redis()
    const store = createRedisStore({ client: clients[0], keyPrefix: prefix, maxAuditKeys: 2 })
    await store.audit.write(event(1, 'k1'))
    await store.audit.write(event(2, 'k2'))
    await store.audit.write(event(3, 'k1'))
    await store.audit.write(event(4, 'k3'))
    expect(await store.audit.tail({ keyId: 'k2', limit: 10 })).toEqual([])
    expect(await store.audit.tail({ keyId: 'k1', limit: 10 })).toEqual([
      event(1, 'k1'),
      event(3, 'k1'),
    ])
    expect(await store.audit.tail({ keyId: 'k3', limit: 10 })).toEqual([event(4, 'k3')])
    expect(await store.audit.tail({ limit: 10 })).toHaveLength(4)
    expect(await clients[0].call('EXISTS', `${prefix}audit-key:k2`)).toBe(0)
    expect(await clients[0].call('ZCARD', `${prefix}audit-keys`)).toBe(2)
    // Many made-up ids (unauthenticated traffic) leave the bound in place.
    for (let i = 0; i < 50; i++) await store.audit.write(event(10 + i, `made-up-${i}`))
    const lists = (await keysUnder(clients[0], prefix)).filter((k) => k.includes('audit-key:'))
    expect(lists).toEqual([`${prefix}audit-key:made-up-48`, `${prefix}audit-key:made-up-49`])
  })
})
