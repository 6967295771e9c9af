import { describe, expect, it } from 'vitest'
import type { CreatedJson, KeyJson } from '../fixtures/cli.js'
import { createCli } from '../fixtures/cli.js'

describe('apimw keys show', () => {
  it('prints one key with every field but its secrets, times in ISO 8601', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>(
      'keys',
      'create',
      '--name',
      'billing',
      '--scopes',
      'orders:read',
      '--allow-ip',
      '10.0.0.0/8',
      '--expires-in',
      '86400',
    )
    const shown = await cli.json<KeyJson>('keys', 'show', created.key)
    expect(shown).toEqual({
      key: created.key,
      name: 'billing',
      environment: 'test',
      scopes: ['orders:read'],
      allowedIps: ['10.0.0.0/8'],
      createdAt: '2030-01-01T00:00:00.000Z',
      expiresAt: '2030-01-02T00:00:00.000Z',
      revokedAt: null,
      lastUsedAt: null,
      metadata: {},
    })
  })

  it('shows lastUsedAt and metadata written by a server on the same store', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    const store = cli.openStore()
    await store.keys.touch(created.key, cli.clock.seconds() + 30)
    const shown = await cli.json<KeyJson>('keys', 'show', created.key)
    expect(shown.lastUsedAt).toBe('2030-01-01T00:00:30.000Z')
  })

  it('prints aligned fields in human form', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>(
      'keys',
      'create',
      '--name',
      'billing',
      '--scopes',
      'a b',
    )
    const { code, stdout } = await cli.run('keys', 'show', created.key)
    expect(code).toBe(0)
    expect(stdout).toBe(
      [
        `key:         ${created.key}`,
        'name:        billing',
        'environment: test',
        'status:      active',
        'scopes:      a b',
        'allowed IPs: any',
        'created:     2030-01-01T00:00:00Z',
        'expires:     never',
        'revoked:     -',
        'last used:   -',
        'metadata:    {}',
        '',
      ].join('\n'),
    )
  })
})
