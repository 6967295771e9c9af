import type { AuditEvent } from '@apimw/core'
import { describe, expect, it } from 'vitest'
import { createRedisStore } from '../src/index.js'
import { drivers, useRedis } from './redis-clients.js'

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
})
