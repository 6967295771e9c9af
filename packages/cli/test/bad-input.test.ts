import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../src/run.js'
import type { CreatedJson } from './fixtures/cli.js'
import { createCli } from './fixtures/cli.js'

const UNKNOWN = 'apimw_test_AAAAAAAAAAAAAAAAAAAAAA'

/** argv (KEY: an active key, REVOKED: a revoked one), optional env, and what stderr must say. */
const CASES: [string, string[], Record<string, string>, RegExp][] = [
  ['no command', [], {}, /missing command/],
  ['an unknown command', ['bogus'], {}, /unknown command "bogus"/],
  ['a group without its command', ['keys'], {}, /missing command after "keys"/],
  ['an unknown subcommand', ['keys', 'delete', 'KEY'], {}, /unknown command "keys delete"/],
  [
    'an unknown option',
    ['keys', 'create', '--name', 'x', '--bogus'],
    {},
    /unknown option "--bogus"/,
  ],
  ['an unknown short option', ['keys', 'list', '-x'], {}, /unknown option "-x"/],
  ['a missing --name', ['keys', 'create', '--scopes', 'a'], {}, /--name is required/],
  ['--name without a value', ['keys', 'create', '--name'], {}, /--name needs a value/],
  ['a blank name', ['keys', 'create', '--name', '  '], {}, /--name must be 1 to 200 characters/],
  ['a name too long', ['keys', 'create', '--name', 'n'.repeat(201)], {}, /--name must be 1 to 200/],
  [
    '--name twice',
    ['keys', 'create', '--name', 'a', '--name', 'b'],
    {},
    /--name is given more than once/,
  ],
  [
    'an unknown environment',
    ['keys', 'create', '--name', 'x', '--env', 'prod'],
    {},
    /--env must be "test" or "live"/,
  ],
  [
    'a bad CIDR',
    ['keys', 'create', '--name', 'x', '--allow-ip', '10.0.0.0/33'],
    {},
    /"10.0.0.0\/33" is not an IP/,
  ],
  [
    'a bad address in a list',
    ['keys', 'create', '--name', 'x', '--allow-ip', '10.0.0.1,nope'],
    {},
    /"nope" is not/,
  ],
  [
    'an empty --allow-ip',
    ['keys', 'create', '--name', 'x', '--allow-ip', ''],
    {},
    /"" is not an IP/,
  ],
  [
    'fractional seconds',
    ['keys', 'create', '--name', 'x', '--expires-in', '1.5'],
    {},
    /--expires-in must be a whole/,
  ],
  [
    'zero seconds',
    ['keys', 'create', '--name', 'x', '--expires-in', '0'],
    {},
    /--expires-in must be a whole/,
  ],
  [
    'seconds in exponent form',
    ['keys', 'create', '--name', 'x', '--expires-in', '1e3'],
    {},
    /--expires-in must/,
  ],
  [
    'too many seconds',
    ['keys', 'create', '--name', 'x', '--expires-in', '9'.repeat(20)],
    {},
    /--expires-in must/,
  ],
  [
    'a bad scope',
    ['keys', 'create', '--name', 'x', '--scopes', 'a"b'],
    {},
    /"a"b" is not a valid scope/,
  ],
  [
    'a value for a flag',
    ['keys', 'create', '--name', 'x', '--json=yes'],
    {},
    /--json takes no value/,
  ],
  [
    'a stray argument',
    ['keys', 'create', '--name', 'x', 'extra'],
    {},
    /unexpected argument "extra"/,
  ],
  [
    'a bad APIMW_ENV',
    ['keys', 'create', '--name', 'x'],
    { APIMW_ENV: 'prod' },
    /APIMW_ENV must be/,
  ],
  [
    'a bad APIMW_TRUST_PROXY',
    ['keys', 'list'],
    { APIMW_TRUST_PROXY: 'not-an-address' },
    /trustProxy/,
  ],
  [
    'a bad APIMW_ACCESS_TOKEN_TTL',
    ['keys', 'list'],
    { APIMW_ACCESS_TOKEN_TTL: '1h' },
    /APIMW_ACCESS_TOKEN_TTL/,
  ],
  ['a missing KEY', ['keys', 'show'], {}, /missing argument KEY/],
  ['a malformed key', ['keys', 'show', 'nope'], {}, /"nope" is not an API key/],
  [
    'an unknown key to show',
    ['keys', 'show', UNKNOWN],
    {},
    /no API key "apimw_test_A+" in this store/,
  ],
  ['two keys', ['keys', 'show', 'KEY', 'KEY'], {}, /unexpected argument/],
  ['an unknown key to rotate', ['keys', 'rotate', UNKNOWN], {}, /no API key/],
  [
    'a revoked key to rotate',
    ['keys', 'rotate', 'REVOKED'],
    {},
    /is revoked; it cannot be rotated/,
  ],
  [
    'a negative grace',
    ['keys', 'rotate', 'KEY', '--grace=-1'],
    {},
    /--grace must be a whole number >= 0/,
  ],
  ['a dash-looking grace', ['keys', 'rotate', 'KEY', '--grace', '-1'], {}, /--grace needs a value/],
  ['a fractional grace', ['keys', 'rotate', 'KEY', '--grace', '0.5'], {}, /--grace must be/],
  ['an unknown key to revoke', ['keys', 'revoke', UNKNOWN], {}, /no API key/],
  [
    'a key of no environment',
    ['keys', 'revoke', 'apimw_prod_AAAAAAAAAAAAAAAAAAAAAA'],
    {},
    /is not an API key/,
  ],
  ['an unknown algorithm', ['signing-keys', 'rotate', '--alg', 'none'], {}, /--alg must be one of/],
  [
    'an argument to signing-keys list',
    ['signing-keys', 'list', 'all'],
    {},
    /unexpected argument "all"/,
  ],
  [
    'a zero limit',
    ['audit', 'tail', '--limit', '0'],
    {},
    /--limit must be a whole number from 1 to 100000/,
  ],
  ['a huge limit', ['audit', 'tail', '--limit', '100001'], {}, /--limit must be/],
  ['a malformed --key', ['audit', 'tail', '--key', 'nope'], {}, /"nope" is not an API key/],
  [
    'an unknown store scheme',
    ['keys', 'list', '--store', 'mongodb://u:hunter2@h/db'],
    {},
    /unknown store scheme "mongodb:"/,
  ],
  ['a store URL without a scheme', ['keys', 'list', '--store', 'apimw.db'], {}, /without a scheme/],
  ['an empty sqlite path', ['keys', 'list', '--store', 'sqlite:'], {}, /needs a file path/],
  [
    'a memory: URL with a path',
    ['keys', 'list', '--store', 'memory:x'],
    {},
    /takes nothing after the colon/,
  ],
  [
    'an unknown APIMW_STORE scheme',
    ['keys', 'list'],
    { APIMW_STORE: 'ftp://u:hunter2@h' },
    /unknown store scheme/,
  ],
  ['help on an unknown topic', ['help', 'nope'], {}, /no help for "nope"/],
]

describe('bad input', () => {
  // One store with an active key, a revoked key, a signing key and audit events, copied for each case.
  const template = mkdtempSync(join(tmpdir(), 'apimw-cli-template-'))
  let key = ''
  let revoked = ''

  beforeAll(async () => {
    const quiet = { write: () => true }
    const io = {
      stdout: quiet,
      stderr: quiet,
      env: { APIMW_STORE: `sqlite:${join(template, 'apimw.db')}` },
      cwd: template,
    }
    const capture = async (...argv: string[]) => {
      let out = ''
      const code = await run([...argv, '--json'], {
        ...io,
        stdout: { write: (text: string) => (out += text) },
      })
      if (code !== 0) throw new Error(`setup failed: ${argv.join(' ')}`)
      return JSON.parse(out) as CreatedJson
    }
    key = (await capture('keys', 'create', '--name', 'kept')).key
    revoked = (await capture('keys', 'create', '--name', 'revoked')).key
    await capture('keys', 'revoke', revoked)
    await capture('signing-keys', 'rotate')
  })

  afterAll(() => rmSync(template, { recursive: true, force: true }))

  it.each(CASES)(
    '%s: one line on stderr, nothing on stdout, exit 2, store unchanged',
    async (_name, argv, env, message) => {
      const cli = createCli(env)
      copyFileSync(join(template, 'apimw.db'), join(cli.dir, 'apimw.db'))
      const setup = createCli({ APIMW_STORE: cli.storeUrl })
      const snapshot = async () => ({
        keys: await setup.run('keys', 'list', '--json'),
        signingKeys: await setup.run('signing-keys', 'list', '--json'),
        audit: await setup.run('audit', 'tail', '--limit', '1000', '--json'),
        files: readdirSync(cli.dir).sort(),
      })
      const before = await snapshot()
      const args = argv.map((arg) => (arg === 'KEY' ? key : arg === 'REVOKED' ? revoked : arg))
      for (const variant of [args, [...args, '--json']]) {
        const result = await cli.run(...variant)
        expect(result.code).toBe(2)
        expect(result.stdout).toBe('')
        expect(result.stderr).toMatch(/^apimw: [^\n]+\n$/)
        expect(result.stderr).toMatch(message)
        expect(result.stderr).not.toContain('hunter2')
        expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/)
      }
      expect(await snapshot()).toEqual(before)
    },
  )
})
