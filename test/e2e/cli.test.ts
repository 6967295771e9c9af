import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const bin = resolve(root, 'packages/cli/dist/bin.js')
const dir = mkdtempSync(join(tmpdir(), 'apimw-cli-e2e-'))
const env = { ...process.env, APIMW_STORE: `sqlite:${join(dir, 'apimw.db')}`, APIMW_ENV: 'test' }

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs a command and resolves with its exit code and output (never rejects on a non-zero exit). */
function spawn(file: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const options = { cwd: root, env: { ...env, ...extraEnv }, timeout: 60_000 }
    execFile(file, args, options, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return fail(error)
      done({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr })
    })
  })
}

const apimw = (...args: string[]) => spawn(process.execPath, [bin, ...args])

async function json<T>(...args: string[]): Promise<T> {
  const result = await apimw(...args, '--json')
  expect(result, `apimw ${args.join(' ')}`).toMatchObject({ code: 0, stderr: '' })
  return JSON.parse(result.stdout) as T
}

beforeAll(() => {
  // `pnpm test` builds first; build here too when the test runs on its own.
  if (!existsSync(bin)) execFileSync('pnpm', ['exec', 'tsc', '-b', 'packages/cli'], { cwd: root })
}, 120_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the built apimw bin on a SQLite file', () => {
  it('starts with a node shebang', () => {
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node')
  })

  it('creates, lists, shows, rotates and revokes a key, and tails the audit log', async () => {
    const created = await json<{
      key: string
      secret: string
      expiresAt: string | null
      allowedIps: string[]
    }>(
      'keys',
      'create',
      '--name',
      'e2e',
      '--scopes',
      'orders:read orders:write',
      '--allow-ip',
      '10.0.0.0/8',
      '--expires-in',
      '3600',
    )
    expect(created.key).toMatch(/^apimw_test_/)
    expect(created.allowedIps).toEqual(['10.0.0.0/8'])
    expect(Date.parse(created.expiresAt ?? '')).toBeGreaterThan(Date.now())

    const listed = await json<{ key: string; name: string }[]>('keys', 'list')
    expect(listed.map((key) => [key.key, key.name])).toEqual([[created.key, 'e2e']])

    const shown = await json<Record<string, unknown>>('keys', 'show', created.key)
    expect(shown).toMatchObject({
      key: created.key,
      scopes: ['orders:read', 'orders:write'],
      revokedAt: null,
    })
    expect(JSON.stringify(shown)).not.toContain(created.secret)

    const rotated = await json<{ key: string; secret: string; previousSecretExpiresAt: string }>(
      'keys',
      'rotate',
      created.key,
      '--grace',
      '60',
    )
    expect(rotated.key).toBe(created.key)
    expect(rotated.secret).not.toBe(created.secret)

    const revoked = await json<{ revokedAt: string | null }>('keys', 'revoke', created.key)
    expect(revoked.revokedAt).not.toBeNull()

    const events = await json<{ type: string; keyId?: string }[]>(
      'audit',
      'tail',
      '--key',
      created.key,
    )
    expect(events.map((event) => event.type)).toEqual(['key.created', 'key.rotated', 'key.revoked'])

    const human = await apimw('keys', 'list')
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(new RegExp(`^${created.key}\\s+e2e\\s+test\\s+revoked\\s`, 'm'))
  })

  it('rotates and lists signing keys, never printing private material, and migrates', async () => {
    type SigningKey = {
      kid: string
      alg: string
      rotatedAt: string | null
      notAfter: string | null
    }
    const first = await json<SigningKey>('signing-keys', 'rotate')
    const second = await json<SigningKey>('signing-keys', 'rotate', '--retire-previous')
    const listed = await json<SigningKey[]>('signing-keys', 'list')
    expect(listed.map((k) => k.kid)).toEqual([second.kid, first.kid])
    expect(listed[0]).toMatchObject({ alg: 'ES256', rotatedAt: null, notAfter: null })
    expect(listed[1]?.rotatedAt).toEqual(expect.any(String))
    expect(JSON.stringify(listed)).not.toMatch(/"(d|privateJwk|k)"/)
    // SQLite migrates when it is opened: an explicit migrate finds nothing to do.
    expect(await json('migrate')).toEqual({ applied: [] })
  })

  it('exits 2 with one line on stderr and nothing on stdout for bad input', async () => {
    expect(
      await apimw('keys', 'create', '--name', 'x', '--allow-ip', '300.0.0.1', '--json'),
    ).toEqual({
      code: 2,
      stdout: '',
      stderr: 'apimw: --allow-ip: "300.0.0.1" is not an IP address or CIDR range\n',
    })
  })

  it('exits 1 with one line, no stack, when the store cannot be opened', async () => {
    const result = await apimw('keys', 'list', '--store', `sqlite:${dir}`)
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
  })

  it('runs through the root script: `pnpm apimw keys list --json` prints one JSON document', async () => {
    const store = { APIMW_STORE: `sqlite:${join(dir, 'pnpm.db')}` }
    const created = await spawn(
      process.execPath,
      [bin, 'keys', 'create', '--name', 'via-pnpm', '--json'],
      store,
    )
    const { key } = JSON.parse(created.stdout) as { key: string }
    const result = await spawn('pnpm', ['apimw', 'keys', 'list', '--json'], store)
    expect(result.code).toBe(0)
    const keys = JSON.parse(result.stdout) as { key: string; name: string }[]
    expect(keys.map((entry) => [entry.key, entry.name])).toEqual([[key, 'via-pnpm']])
  })
})
