import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore, parseStoreUrl, redactPassword, redactStoreUrl } from '../src/store.js'

const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'apimw-store-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('parseStoreUrl', () => {
  it('accepts memory: and sqlite: URLs without opening anything', () => {
    expect(parseStoreUrl('memory:')).toEqual({ scheme: 'memory', redacted: 'memory:' })
    expect(parseStoreUrl('sqlite:.apimw/apimw.db')).toEqual({
      scheme: 'sqlite',
      redacted: 'sqlite:.apimw/apimw.db',
    })
    expect(parseStoreUrl('SQLite:///var/lib/apimw.db').scheme).toBe('sqlite')
    expect(parseStoreUrl('sqlite::memory:').scheme).toBe('sqlite')
    expect(existsSync('.apimw/apimw.db')).toBe(false)
  })

  it.each([
    [
      'mongodb://user:hunter2@localhost:27017/apimw',
      /unknown store scheme "mongodb:"; use one of memory:, sqlite:<path>, redis:/,
    ],
    ['redis://', /no host/],
    ['postgres://user:hunter2@/db', /not a valid URL/],
    ['apimw.db', /a store URL without a scheme/],
    ['', /a store URL without a scheme/],
    ['memory:extra', /takes nothing after the colon/],
    ['sqlite:', /needs a file path/],
    ['sqlite://', /needs a file path/],
    ['sqlite:a\0b', /NUL/],
  ])('rejects %j with a TypeError that repeats no password', (url, message) => {
    expect(() => parseStoreUrl(url)).toThrow(TypeError)
    expect(() => parseStoreUrl(url)).toThrow(message)
    try {
      parseStoreUrl(url)
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2')
    }
  })
})

describe('openStore', () => {
  it('opens a new, empty memory store each time', async () => {
    const first = await openStore('memory:')
    const second = await openStore('memory:')
    await first.store.keys.create({
      key: 'apimw_test_AAAAAAAAAAAAAAAAAAAAAA',
      name: 'x',
      environment: 'test',
      scopes: [],
      allowedIps: [],
      secrets: [],
      createdAt: 0,
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      metadata: {},
    })
    expect(await first.store.keys.list()).toHaveLength(1)
    expect(await second.store.keys.list()).toEqual([])
    await first.close()
    await second.close()
  })

  it('opens a relative sqlite: path against cwd, creating its parent directory', async () => {
    const dir = tempDir()
    const { store, close } = await openStore('sqlite:a/b/apimw.db', { cwd: dir })
    expect(await store.keys.list()).toEqual([])
    await close()
    expect(existsSync(join(dir, 'a', 'b', 'apimw.db'))).toBe(true)
  })

  it('resolves a relative path against INIT_CWD by default (the directory pnpm was started from)', async () => {
    const dir = tempDir()
    const saved = process.env.INIT_CWD
    process.env.INIT_CWD = dir
    try {
      const { close } = await openStore('sqlite:.apimw/apimw.db')
      await close()
    } finally {
      if (saved === undefined) delete process.env.INIT_CWD
      else process.env.INIT_CWD = saved
    }
    expect(existsSync(join(dir, '.apimw', 'apimw.db'))).toBe(true)
  })

  it('opens an absolute path as is, with or without sqlite://', async () => {
    const dir = tempDir()
    for (const url of [`sqlite:${join(dir, 'one.db')}`, `sqlite://${join(dir, 'two.db')}`]) {
      const { close } = await openStore(url, { cwd: '/nonexistent' })
      await close()
    }
    expect(existsSync(join(dir, 'one.db'))).toBe(true)
    expect(existsSync(join(dir, 'two.db'))).toBe(true)
  })

  it('opens a private in-memory SQLite database with sqlite::memory:', async () => {
    const { store, close } = await openStore('sqlite::memory:')
    expect(await store.signingKeys.list()).toEqual([])
    await close()
  })

  it('throws the TypeError of a bad URL before opening anything', async () => {
    await expect(openStore('mysql://u:p@h/db')).rejects.toThrow(TypeError)
  })
})

describe('redaction', () => {
  it('replaces the password of a URL by ***', () => {
    expect(redactStoreUrl('postgres://app:s3cret@db:5432/apimw')).toBe(
      'postgres://app:***@db:5432/apimw',
    )
    expect(redactStoreUrl('redis://:s3cret@cache:6379')).toBe('redis://:***@cache:6379')
    expect(redactStoreUrl('sqlite:.apimw/apimw.db')).toBe('sqlite:.apimw/apimw.db')
    expect(redactStoreUrl('postgres://app@db/apimw')).toBe('postgres://app@db/apimw')
  })

  it('hides the password, raw or percent-decoded, in a driver message', () => {
    const url = 'postgres://app:p%40ss@db/apimw'
    expect(redactPassword('auth failed for app:p%40ss and p@ss', url)).toBe(
      'auth failed for app:*** and ***',
    )
    expect(redactPassword('nothing to hide', 'sqlite:x.db')).toBe('nothing to hide')
  })
})
