import { describe, expect, it } from 'vitest'
import type { CreatedJson, KeyJson } from '../fixtures/cli.js'
import { createCli, tokenStatus } from '../fixtures/cli.js'

describe('apimw keys revoke', () => {
  it('revokes the key (its secret stops working) and prints the key as `keys show` does', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    const store = cli.openStore()
    expect(await tokenStatus(store, created, { clock: cli.clock })).toBe(200)
    cli.clock.advance(5)
    const revoked = await cli.json<KeyJson>('keys', 'revoke', created.key)
    expect(revoked).toMatchObject({
      key: created.key,
      name: 'billing',
      revokedAt: '2030-01-01T00:00:05.000Z',
    })
    expect(revoked).not.toHaveProperty('secret')
    expect(await cli.json<KeyJson>('keys', 'show', created.key)).toEqual(revoked)
    expect(await tokenStatus(store, created, { clock: cli.clock })).toBe(401)
  })

  it('revokes the key refresh tokens too', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    const store = cli.openStore()
    await store.refreshTokens.create({
      hash: 'sha256:family-token',
      familyId: 'family',
      keyId: created.key,
      scopes: [],
      environment: 'test',
      issuedAt: cli.clock.seconds(),
      expiresAt: cli.clock.seconds() + 3600,
      usedAt: null,
      familyRevokedAt: null,
    })
    await cli.json('keys', 'revoke', created.key)
    expect((await store.refreshTokens.find('sha256:family-token'))?.familyRevokedAt).toBe(
      cli.clock.seconds(),
    )
  })

  it('is idempotent: revoking again keeps the first time and writes no second audit event', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    const first = await cli.json<KeyJson>('keys', 'revoke', created.key)
    cli.clock.advance(60)
    const again = await cli.run('keys', 'revoke', created.key)
    expect(again).toEqual({
      code: 0,
      stdout: `API key ${created.key} was already revoked at 2030-01-01T00:00:00Z.\n`,
      stderr: '',
    })
    expect(await cli.json<KeyJson>('keys', 'revoke', created.key)).toEqual(first)
    const events = await cli.json<{ type: string }[]>('audit', 'tail')
    expect(events.map((event) => event.type)).toEqual(['key.created', 'key.revoked'])
  })

  it('prints one line in human form', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    expect(await cli.run('keys', 'revoke', created.key)).toEqual({
      code: 0,
      stdout: `Revoked API key ${created.key} at 2030-01-01T00:00:00Z.\n`,
      stderr: '',
    })
  })
})
