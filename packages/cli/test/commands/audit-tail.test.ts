import { describe, expect, it } from 'vitest'
import type { CreatedJson } from '../fixtures/cli.js'
import { createCli } from '../fixtures/cli.js'

interface EventJson {
  type: string
  at: string
  keyId?: string
  details?: Record<string, unknown>
}

describe('apimw audit tail', () => {
  it('prints the newest events oldest first, as { type, at, keyId, details }', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    cli.clock.advance(1)
    await cli.json('keys', 'rotate', created.key, '--grace', '0')
    cli.clock.advance(1)
    await cli.json('keys', 'revoke', created.key)
    expect(await cli.json<EventJson[]>('audit', 'tail')).toEqual([
      {
        type: 'key.created',
        at: '2030-01-01T00:00:00.000Z',
        keyId: created.key,
        details: { environment: 'test' },
      },
      {
        type: 'key.rotated',
        at: '2030-01-01T00:00:01.000Z',
        keyId: created.key,
        details: expect.any(Object),
      },
      { type: 'key.revoked', at: '2030-01-01T00:00:02.000Z', keyId: created.key },
    ])
  })

  it('filters by --key and keeps the newest --limit events', async () => {
    const cli = createCli()
    const one = await cli.json<CreatedJson>('keys', 'create', '--name', 'one')
    const two = await cli.json<CreatedJson>('keys', 'create', '--name', 'two')
    await cli.json('keys', 'revoke', one.key)
    await cli.json('keys', 'revoke', two.key)
    const ofOne = await cli.json<EventJson[]>('audit', 'tail', '--key', one.key)
    expect(ofOne.map((event) => [event.type, event.keyId])).toEqual([
      ['key.created', one.key],
      ['key.revoked', one.key],
    ])
    const newest = await cli.json<EventJson[]>('audit', 'tail', '--limit', '2')
    expect(newest.map((event) => [event.type, event.keyId])).toEqual([
      ['key.revoked', one.key],
      ['key.revoked', two.key],
    ])
  })

  it('shows 50 events by default', async () => {
    const cli = createCli()
    const store = cli.openStore()
    for (let index = 0; index < 60; index++) {
      await store.audit.write({
        type: 'auth.failed',
        at: `2030-01-01T00:00:${String(index % 60).padStart(2, '0')}.000Z`,
        reason: `r${index}`,
      })
    }
    const events = await cli.json<{ reason: string }[]>('audit', 'tail')
    expect(events).toHaveLength(50)
    expect(events[0]?.reason).toBe('r10')
    expect(events[49]?.reason).toBe('r59')
  })

  it('finds failed attempts of a well-formed key id the store does not hold', async () => {
    const cli = createCli()
    const probed = 'apimw_test_AAAAAAAAAAAAAAAAAAAAAA'
    await cli.openStore().audit.write({
      type: 'auth.failed',
      at: '2030-01-01T00:00:00.000Z',
      keyId: probed,
      ip: '192.0.2.1',
      reason: 'key_unknown',
    })
    expect(await cli.run('audit', 'tail', '--key', probed)).toEqual({
      code: 0,
      stdout: `2030-01-01T00:00:00.000Z auth.failed key=${probed} ip=192.0.2.1 reason=key_unknown\n`,
      stderr: '',
    })
  })

  it('prints one line per event in human form, or a note when there are none', async () => {
    const cli = createCli()
    expect(await cli.run('audit', 'tail')).toEqual({
      code: 0,
      stdout: 'No audit events.\n',
      stderr: '',
    })
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    expect((await cli.run('audit', 'tail')).stdout).toBe(
      `2030-01-01T00:00:00.000Z key.created key=${created.key} {"environment":"test"}\n`,
    )
  })
})
