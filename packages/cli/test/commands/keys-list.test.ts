import { describe, expect, it } from 'vitest'
import type { CreatedJson, KeyJson } from '../fixtures/cli.js'
import { createCli } from '../fixtures/cli.js'

describe('apimw keys list', () => {
  it('prints an empty JSON array, or a hint in human form, when the store has no keys', async () => {
    const cli = createCli()
    expect(await cli.json('keys', 'list')).toEqual([])
    expect(await cli.run('keys', 'list')).toEqual({
      code: 0,
      stdout: 'No API keys yet. Create one with: apimw keys create --name NAME\n',
      stderr: '',
    })
  })

  it('lists every key oldest first, with the fields of `keys show` and no secret or hash', async () => {
    const cli = createCli()
    const first = await cli.json<CreatedJson>(
      'keys',
      'create',
      '--name',
      'first',
      '--scopes',
      'a b',
    )
    cli.clock.advance(60)
    const second = await cli.json<CreatedJson>(
      'keys',
      'create',
      '--name',
      'second',
      '--expires-in',
      '60',
    )
    const keys = await cli.json<KeyJson[]>('keys', 'list')
    expect(keys.map((key) => key.key)).toEqual([first.key, second.key])
    expect(keys[0]).toEqual({
      key: first.key,
      name: 'first',
      environment: 'test',
      scopes: ['a', 'b'],
      allowedIps: [],
      createdAt: '2030-01-01T00:00:00.000Z',
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      metadata: {},
    })
    expect(keys[1]).toMatchObject({
      createdAt: '2030-01-01T00:01:00.000Z',
      expiresAt: '2030-01-01T00:02:00.000Z',
    })
  })

  it('shows a table with each key status: active, expired, revoked', async () => {
    const cli = createCli()
    const active = await cli.json<CreatedJson>('keys', 'create', '--name', 'active-key')
    const expiring = await cli.json<CreatedJson>(
      'keys',
      'create',
      '--name',
      'expiring',
      '--expires-in',
      '10',
    )
    const revoked = await cli.json<CreatedJson>('keys', 'create', '--name', 'gone')
    await cli.json('keys', 'revoke', revoked.key)
    cli.clock.advance(10)
    const { code, stdout, stderr } = await cli.run('keys', 'list')
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    const lines = stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^KEY\s+NAME\s+ENV\s+STATUS\s+SCOPES\s+CREATED\s+EXPIRES\s+LAST USED$/)
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 4))).toEqual([
      [active.key, 'active-key', 'test', 'active'],
      [expiring.key, 'expiring', 'test', 'expired'],
      [revoked.key, 'gone', 'test', 'revoked'],
    ])
  })
})
