import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { run } from '../src/run.js'
import { openStore } from '../src/store.js'

// The real servers of this machine and CI (DEVELOPERS brief): each test in its own prefix/schema.
const REDIS = 'redis://127.0.0.1:6379'
const POSTGRES = 'postgres://postgres@127.0.0.1:5432/test'

const redis = new Redis(REDIS)
const pool = new pg.Pool({ connectionString: POSTGRES })
const prefixes: string[] = []
const schemas: string[] = []

afterEach(async () => {
  for (const prefix of prefixes.splice(0)) {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
  }
  for (const schema of schemas.splice(0))
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
})
afterAll(async () => {
  redis.disconnect()
  await pool.end()
})

const redisUrl = () => {
  const prefix = `apimw-cli-${randomBytes(6).toString('hex')}:`
  prefixes.push(prefix)
  return `${REDIS}?prefix=${encodeURIComponent(prefix)}`
}
const postgresUrl = () => {
  const schema = `apimw_cli_${randomBytes(6).toString('hex')}`
  schemas.push(schema)
  return { url: `${POSTGRES}?schema=${schema}`, schema }
}

async function cli(env: Record<string, string>, ...argv: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await run(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: process.cwd(),
  })
  return { code, stdout, stderr }
}

describe('network store URLs', () => {
  it('manages keys in Redis under the prefix of the URL, which never reaches the driver', async () => {
    const url = redisUrl()
    const created = await cli({ APIMW_STORE: url }, 'keys', 'create', '--name', 'r', '--json')
    expect(created.code).toBe(0)
    const { key } = JSON.parse(created.stdout)
    const listed = JSON.parse((await cli({ APIMW_STORE: url }, 'keys', 'list', '--json')).stdout)
    expect(listed.map((k: { key: string }) => k.key)).toEqual([key])
    expect(await redis.keys(`${prefixes[0]}*`)).not.toEqual([])
  })

  it('migrates PostgreSQL explicitly, once, and keeps keys in the schema of the URL', async () => {
    const { url, schema } = postgresUrl()
    expect(JSON.parse((await cli({ APIMW_STORE: url }, 'migrate', '--json')).stdout)).toEqual({
      applied: [1, 2],
    })
    expect(JSON.parse((await cli({ APIMW_STORE: url }, 'migrate', '--json')).stdout)).toEqual({
      applied: [],
    })
    const created = await cli({ APIMW_STORE: url }, 'keys', 'create', '--name', 'p', '--json')
    const { key } = JSON.parse(created.stdout)
    const rows = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".api_keys`)
    expect(rows.rows[0].n).toBe(1)
    expect(
      JSON.parse((await cli({ APIMW_STORE: url }, 'keys', 'show', key, '--json')).stdout).key,
    ).toBe(key)
  })

  it('splits state with APIMW_TOKEN_STORE: keys in PostgreSQL, counters and tokens in Redis', async () => {
    const { url } = postgresUrl()
    const tokens = redisUrl()
    const { store, close } = await openStore(url, { tokenStore: tokens })
    try {
      await store.counters.increment('probe', 60, 1_700_000_000)
      expect(await redis.keys(`${prefixes[0]}*`)).not.toEqual([])
      const created = await cli(
        { APIMW_STORE: url, APIMW_TOKEN_STORE: tokens },
        'keys',
        'create',
        '--name',
        'm',
        '--json',
      )
      expect(created.code).toBe(0)
      expect((await store.keys.list()).map((k) => k.name)).toEqual(['m'])
    } finally {
      await close()
    }
  })

  it('exits 1 with one line, no password, when the server is unreachable', async () => {
    for (const url of [
      'redis://:hunter2@127.0.0.1:1',
      'postgres://postgres:hunter2@127.0.0.1:1/test',
    ]) {
      const result = await cli({ APIMW_STORE: url }, 'keys', 'list')
      expect(result.code).toBe(1)
      expect(result.stdout).toBe('')
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(result.stderr).not.toContain('hunter2')
      expect(result.stderr).toContain('ECONNREFUSED')
    }
  })

  it('never prints the password of an unreachable APIMW_TOKEN_STORE either', async () => {
    const env = { APIMW_STORE: 'memory:', APIMW_TOKEN_STORE: 'redis://:hunter2@127.0.0.1:1' }
    const result = await cli(env, 'keys', 'list')
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('ECONNREFUSED')
    expect(result.stderr).not.toContain('hunter2')
  })

  it('exits 2 for a malformed network URL, before connecting', async () => {
    const result = await cli({ APIMW_STORE: 'redis://' }, 'keys', 'list')
    expect(result).toMatchObject({ code: 2, stdout: '' })
    expect(result.stderr).toMatch(/^apimw: .*no host/)
  })
})
