import { describe, expect, it } from 'vitest'
import type { CreatedJson } from '../fixtures/cli.js'
import { createCli, tokenStatus } from '../fixtures/cli.js'

interface SigningKeyJson {
  kid: string
  alg: string
  createdAt: string
  rotatedAt: string | null
  notAfter: string | null
}

describe('apimw signing-keys list', () => {
  it('prints an empty array, or a hint, before any key exists', async () => {
    const cli = createCli()
    expect(await cli.json('signing-keys', 'list')).toEqual([])
    const { code, stdout } = await cli.run('signing-keys', 'list')
    expect(code).toBe(0)
    expect(stdout).toMatch(/^No signing keys yet/)
  })

  it('lists the key a server made, with kid, alg and times only: no key material', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'billing')
    expect(await tokenStatus(cli.openStore(), created, { clock: cli.clock })).toBe(200)
    const result = await cli.run('signing-keys', 'list', '--json')
    const keys = JSON.parse(result.stdout) as SigningKeyJson[]
    expect(keys).toEqual([
      {
        kid: expect.any(String),
        alg: 'ES256',
        createdAt: '2030-01-01T00:00:00.000Z',
        rotatedAt: null,
        notAfter: null,
      },
    ])
    expect(result.stdout).not.toMatch(/"(d|x|y|k|privateJwk|publicJwk)"/)
  })
})

describe('apimw signing-keys rotate', () => {
  it('makes a new active key; the previous one keeps verifying for the token lifetime', async () => {
    const cli = createCli()
    const first = await cli.json<SigningKeyJson>('signing-keys', 'rotate')
    expect(first).toEqual({
      kid: expect.any(String),
      alg: 'ES256',
      createdAt: '2030-01-01T00:00:00.000Z',
      rotatedAt: null,
      notAfter: null,
    })
    cli.clock.advance(60)
    const second = await cli.json<SigningKeyJson>('signing-keys', 'rotate')
    const keys = await cli.json<SigningKeyJson[]>('signing-keys', 'list')
    expect(keys).toEqual([
      second,
      { ...first, rotatedAt: '2030-01-01T00:01:00.000Z', notAfter: '2030-01-01T01:01:05.000Z' },
    ])
    const table = await cli.run('signing-keys', 'list')
    expect(table.stdout).toMatch(new RegExp(`^${second.kid}\\s+ES256\\s+active\\s`, 'm'))
    expect(table.stdout).toMatch(new RegExp(`^${first.kid}\\s+ES256\\s+verifying\\s`, 'm'))
  })

  it('retires the previous key at once with --retire-previous', async () => {
    const cli = createCli()
    const first = await cli.json<SigningKeyJson>('signing-keys', 'rotate')
    await cli.json('signing-keys', 'rotate', '--retire-previous')
    const keys = await cli.json<SigningKeyJson[]>('signing-keys', 'list')
    expect(keys.find((key) => key.kid === first.kid)).toMatchObject({
      rotatedAt: '2030-01-01T00:00:00.000Z',
      notAfter: '2030-01-01T00:00:00.000Z',
    })
    expect((await cli.run('signing-keys', 'list')).stdout).toMatch(
      new RegExp(`^${first.kid}\\s+ES256\\s+retired`, 'm'),
    )
  })

  it("keeps the active key's algorithm, or takes --alg", async () => {
    const cli = createCli()
    expect((await cli.json<SigningKeyJson>('signing-keys', 'rotate', '--alg', 'EdDSA')).alg).toBe(
      'EdDSA',
    )
    expect((await cli.json<SigningKeyJson>('signing-keys', 'rotate')).alg).toBe('EdDSA')
  })

  it('writes a signing_key.rotated audit event and one human line per fact', async () => {
    const cli = createCli()
    const { code, stdout } = await cli.run('signing-keys', 'rotate')
    expect(code).toBe(0)
    expect(stdout).toMatch(/^New active ES256 signing key \S+, created 2030-01-01T00:00:00Z\.\n/)
    const events = await cli.json<{ type: string }[]>('audit', 'tail')
    expect(events.map((event) => event.type)).toEqual(['signing_key.rotated'])
  })
})
