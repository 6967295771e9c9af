import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { CreatedJson, KeyJson } from '../fixtures/cli.js'
import { createCli, tokenStatus } from '../fixtures/cli.js'

describe('apimw keys create', () => {
  it('prints the CONTRACT §10 document: key, secret, name, environment, scopes, allowedIps, createdAt, expiresAt', async () => {
    const cli = createCli()
    const result = await cli.run('keys', 'create', '--name', 'billing', '--json')
    expect(result).toMatchObject({ code: 0, stderr: '' })
    const created = JSON.parse(result.stdout) as CreatedJson
    expect(Object.keys(created)).toEqual([
      'key',
      'secret',
      'name',
      'environment',
      'scopes',
      'allowedIps',
      'createdAt',
      'expiresAt',
    ])
    expect(created).toEqual({
      key: expect.stringMatching(/^apimw_test_[A-Za-z0-9]{20,}$/),
      secret: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/),
      name: 'billing',
      environment: 'test',
      scopes: [],
      allowedIps: [],
      createdAt: '2030-01-01T00:00:00.000Z',
      expiresAt: null,
    })
  })

  it('creates a key whose secret authenticates at /auth/token', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    const store = cli.openStore()
    expect(await tokenStatus(store, created, { clock: cli.clock })).toBe(200)
    expect(
      await tokenStatus(store, { key: created.key, secret: 'wrong' }, { clock: cli.clock }),
    ).toBe(401)
  })

  it('sets the environment, scopes, allowlist (repeated and comma-separated) and expiry', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>(
      'keys',
      'create',
      '--name',
      'partner',
      '--env',
      'live',
      '--scopes',
      'orders:read  orders:write',
      '--scopes',
      'refunds:write orders:read',
      '--allow-ip',
      '10.0.0.0/8,2001:db8::/32',
      '--allow-ip',
      '192.0.2.7',
      '--expires-in',
      '3600',
    )
    expect(created).toMatchObject({
      key: expect.stringMatching(/^apimw_live_/),
      environment: 'live',
      scopes: ['orders:read', 'orders:write', 'refunds:write'],
      allowedIps: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'],
      createdAt: '2030-01-01T00:00:00.000Z',
      expiresAt: '2030-01-01T01:00:00.000Z',
    })
    const [listed] = await cli.json<KeyJson[]>('keys', 'list')
    expect(listed).toMatchObject({
      key: created.key,
      scopes: created.scopes,
      allowedIps: created.allowedIps,
    })
  })

  it('defaults the environment to APIMW_ENV', async () => {
    const cli = createCli({ APIMW_ENV: 'live' })
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'prod')
    expect(created.environment).toBe('live')
    expect(created.key).toMatch(/^apimw_live_/)
  })

  it('prints the key and the secret once in human form, with a warning to store it', async () => {
    const cli = createCli()
    const result = await cli.run('keys', 'create', '--name', 'billing', '--scopes', 'orders:read')
    expect(result).toMatchObject({ code: 0, stderr: '' })
    const value = (label: string) =>
      result.stdout
        .split('\n')
        .find((line) => line.startsWith(`${label}:`))
        ?.replace(/^[a-z]+:\s+/, '') ?? ''
    const credential = { key: value('key'), secret: value('secret') }
    expect(credential.key).toMatch(/^apimw_test_/)
    expect(credential.secret).toMatch(/^[A-Za-z0-9_-]{43,}$/)
    expect(result.stdout.split(credential.secret)).toHaveLength(2)
    expect(result.stdout).toContain('shown only this once')
    expect(await tokenStatus(cli.openStore(), credential, { clock: cli.clock })).toBe(200)
  })

  it('never shows the secret again: not in list, show, audit tail, nor in the database file', async () => {
    const cli = createCli()
    const { key, secret } = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    const outputs = await Promise.all(
      [
        ['keys', 'list'],
        ['keys', 'list', '--json'],
        ['keys', 'show', key],
        ['keys', 'show', key, '--json'],
        ['audit', 'tail'],
        ['audit', 'tail', '--json'],
      ].map((argv) => cli.run(...argv)),
    )
    for (const output of outputs) {
      expect(output.code).toBe(0)
      expect(output.stdout).toContain(key)
      expect(output.stdout).not.toContain(secret)
      expect(output.stdout).not.toMatch(/sha256|hash/i)
    }
    for (const file of readdirSync(cli.dir)) {
      expect(readFileSync(join(cli.dir, file)).includes(secret)).toBe(false)
    }
  })

  it('prints control characters of a name as "?" in human output, and escaped in JSON', async () => {
    const cli = createCli()
    const name = 'evil\u001b[2Jname\nline'
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', name)
    expect(created.name).toBe(name)
    const shown = await cli.run('keys', 'show', created.key)
    expect(shown.stdout).toContain('evil?[2Jname?line')
    expect(shown.stdout).not.toContain('\u001b')
  })
})
