import { describe, expect, it } from 'vitest'
import type { CreatedJson } from '../fixtures/cli.js'
import { createCli, tokenStatus } from '../fixtures/cli.js'

interface RotatedJson {
  key: string
  secret: string
  previousSecretExpiresAt: string
}

describe('apimw keys rotate', () => {
  it('prints { key, secret, previousSecretExpiresAt }; both secrets work until the grace period ends', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    const rotated = await cli.json<RotatedJson>('keys', 'rotate', created.key, '--grace', '600')
    expect(Object.keys(rotated)).toEqual(['key', 'secret', 'previousSecretExpiresAt'])
    expect(rotated).toEqual({
      key: created.key,
      secret: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/),
      previousSecretExpiresAt: '2030-01-01T00:10:00.000Z',
    })
    expect(rotated.secret).not.toBe(created.secret)

    const store = cli.openStore()
    const clock = cli.clock
    expect(await tokenStatus(store, rotated, { clock })).toBe(200)
    expect(await tokenStatus(store, created, { clock })).toBe(200)
    clock.advance(600)
    expect(await tokenStatus(store, rotated, { clock })).toBe(200)
    expect(await tokenStatus(store, created, { clock })).toBe(401)
  })

  it('defaults the grace period to one day, and --grace 0 ends the old secret at once', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    const rotated = await cli.json<RotatedJson>('keys', 'rotate', created.key)
    expect(rotated.previousSecretExpiresAt).toBe('2030-01-02T00:00:00.000Z')
    const again = await cli.json<RotatedJson>('keys', 'rotate', created.key, '--grace', '0')
    expect(again.previousSecretExpiresAt).toBe('2030-01-01T00:00:00.000Z')
    const store = cli.openStore()
    expect(await tokenStatus(store, rotated, { clock: cli.clock })).toBe(401)
    expect(await tokenStatus(store, again, { clock: cli.clock })).toBe(200)
  })

  it('prints the new secret once in human form', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    const { code, stdout, stderr } = await cli.run('keys', 'rotate', created.key, '--grace', '60')
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).toMatch(/^secret:\s+[A-Za-z0-9_-]{43,}$/m)
    expect(stdout).toContain('previous secret works until: 2030-01-01T00:01:00Z')
    expect(stdout).not.toContain(created.secret)
  })

  it('refuses a revoked key with exit code 2 and changes nothing', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    await cli.json('keys', 'revoke', created.key)
    const before = await cli.run('keys', 'list', '--json')
    const result = await cli.run('keys', 'rotate', created.key)
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `apimw: the API key ${created.key} is revoked; it cannot be rotated\n`,
    })
    expect(await cli.run('keys', 'list', '--json')).toEqual(before)
  })
})
