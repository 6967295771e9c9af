import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { createSqliteStore } from '@apimw/store-sqlite'
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../src/run.js'
import type { CreatedJson, KeyJson } from './fixtures/cli.js'
import { createCli } from './fixtures/cli.js'

describe('apimw --help and --version', () => {
  it('prints the tool help, listing every command, with exit code 0', async () => {
    const cli = createCli()
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const result = await cli.run(...argv)
      expect(result.code).toBe(0)
      expect(result.stderr).toBe('')
      expect(result.stdout).toMatch(/^apimw: /)
      for (const command of COMMANDS) expect(result.stdout).toContain(command.words.join(' '))
      expect(result.stdout).toContain('APIMW_STORE')
      expect(result.stdout).toMatch(/^ {2}2 {2}bad input/m)
    }
  })

  it.each(COMMANDS.map((command) => [command.words.join(' '), command] as const))(
    'prints the help of %s with --help, -h and `apimw help`',
    async (name, command) => {
      const cli = createCli()
      const words = name.split(' ')
      const results = await Promise.all([
        cli.run(...words, '--help'),
        cli.run(...words, '-h', '--json'),
        cli.run('help', ...words),
      ])
      for (const result of results) {
        expect(result).toEqual(results[0])
        expect(result.code).toBe(0)
        expect(result.stderr).toBe('')
      }
      expect(results[0]?.stdout).toContain(`Usage: apimw ${name} ${command.usage}`.trimEnd())
      for (const [flag] of command.optionHelp) expect(results[0]?.stdout).toContain(flag)
    },
  )

  it('prints the help of a command group', async () => {
    const cli = createCli()
    const result = await cli.run('keys', '--help')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: apimw keys <command>')
    expect(result.stdout).toContain('keys rotate')
    expect(result.stdout).not.toContain('signing-keys')
    expect(await cli.run('help', 'keys')).toEqual(result)
  })

  it('prints the package version', async () => {
    const cli = createCli()
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    expect(await cli.run('--version')).toEqual({
      code: 0,
      stdout: `${manifest.version}\n`,
      stderr: '',
    })
  })

  it('shows help without opening the store', async () => {
    const cli = createCli({ APIMW_STORE: 'sqlite:never/opened.db' })
    expect((await cli.run('keys', 'create', '--help')).code).toBe(0)
    expect(existsSync(join(cli.dir, 'never'))).toBe(false)
  })
})

describe('apimw options and store selection', () => {
  it('takes the global options before or after the command words', async () => {
    const cli = createCli()
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'x')
    const before = await cli.run('--json', '--store', cli.storeUrl, 'keys', 'show', created.key)
    const after = await cli.run('keys', 'show', created.key, '--store', cli.storeUrl, '--json')
    const between = await cli.run('keys', '--json', 'show', `--store=${cli.storeUrl}`, created.key)
    expect(before.code).toBe(0)
    expect(after).toEqual(before)
    expect(between).toEqual(before)
  })

  it('uses --store over APIMW_STORE', async () => {
    const cli = createCli()
    const other = `sqlite:${join(cli.dir, 'other.db')}`
    const created = await cli.json<CreatedJson>(
      'keys',
      'create',
      '--name',
      'elsewhere',
      '--store',
      other,
    )
    expect(await cli.json('keys', 'list')).toEqual([])
    expect(
      (await cli.json<KeyJson[]>('keys', 'list', '--store', other)).map((key) => key.key),
    ).toEqual([created.key])
  })

  it('defaults to sqlite:.apimw/apimw.db in the working directory', async () => {
    const cli = createCli({ APIMW_STORE: undefined })
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'default')
    const store = createSqliteStore({ path: join(cli.dir, '.apimw', 'apimw.db') })
    try {
      expect((await store.keys.get(created.key))?.name).toBe('default')
    } finally {
      await store.close?.()
    }
  })

  it('resolves a relative sqlite: path against INIT_CWD (set by pnpm), creating its directory', async () => {
    const cli = createCli({ APIMW_STORE: 'sqlite:data/nested/keys.db' })
    const started = join(cli.dir, 'started-here')
    mkdirSync(started)
    cli.env.INIT_CWD = started
    await cli.json('keys', 'create', '--name', 'x')
    expect(existsSync(join(started, 'data', 'nested', 'keys.db'))).toBe(true)
    expect(existsSync(join(cli.dir, 'data'))).toBe(false)
  })

  it('works on a memory: store (empty at every start)', async () => {
    const cli = createCli({ APIMW_STORE: 'memory:' })
    const created = await cli.json<CreatedJson>('keys', 'create', '--name', 'x')
    expect(created.name).toBe('x')
    expect(await cli.json('keys', 'list')).toEqual([])
  })

  it('prints exactly one JSON document with --json', async () => {
    const cli = createCli()
    const { stdout } = await cli.run('keys', 'create', '--name', 'x', '--json')
    expect(stdout.endsWith('}\n')).toBe(true)
    expect(() => JSON.parse(stdout)).not.toThrow()
  })
})

describe('failures that are not the caller', () => {
  it('exits 1 with one line when the store cannot be opened (a directory)', async () => {
    const cli = createCli()
    const result = await cli.run('keys', 'list', '--store', `sqlite:${cli.dir}`)
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/^apimw: cannot open the store sqlite:\S+: [^\n]+\n$/)
  })

  it('exits 1 when the store path runs through a file', async () => {
    const cli = createCli()
    writeFileSync(join(cli.dir, 'file'), 'x')
    const result = await cli.run(
      'keys',
      'list',
      '--json',
      '--store',
      `sqlite:${join(cli.dir, 'file', 'apimw.db')}`,
    )
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toMatch(/^apimw: cannot open the store [^\n]+\n$/)
  })

  it('exits 1 when the file is not a database', async () => {
    const cli = createCli()
    writeFileSync(
      join(cli.dir, 'apimw.db'),
      'not a database, just text that is long enough to be read as a header',
    )
    const result = await cli.run('keys', 'list')
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toMatch(/^apimw: cannot open the store [^\n]+\n$/)
  })

  it('exits 1 when the store fails during the command (a write lock held past the busy timeout)', async () => {
    const cli = createCli()
    await cli.json('keys', 'list')
    // The SQLite driver of @apimw/store-sqlite (not a dependency of the CLI itself).
    const require = createRequire(new URL('../../store-sqlite/package.json', import.meta.url))
    const Database = require('better-sqlite3') as new (
      path: string,
    ) => { exec(sql: string): void; close(): void }
    const holder = new Database(join(cli.dir, 'apimw.db'))
    holder.exec('BEGIN IMMEDIATE')
    try {
      const result = await cli.run('keys', 'create', '--name', 'x', '--json')
      expect(result.code).toBe(1)
      expect(result.stdout).toBe('')
      expect(result.stderr).toMatch(
        /^apimw: the store sqlite:\S+ failed: database is locked[^\n]*\n$/,
      )
    } finally {
      holder.exec('ROLLBACK')
      holder.close()
    }
    expect(await cli.json('keys', 'list')).toEqual([])
  }, 20_000)
})
