import type { ChildProcess } from 'node:child_process'
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const run = promisify(execFile)
const examples = ['express', 'koa', 'hono'].filter((name) =>
  existsSync(join(root, `examples/${name}/src/server.ts`)),
)

/** The paste block the example prints, with the README's placeholders for key, secret and URL. */
const PASTE_LINE = /^(export APIMW_API_|TOKENS=|ACCESS_TOKEN=|REFRESH_TOKEN=|curl )/

interface Started {
  child: ChildProcess
  url: string
  lines: string[]
  exited: Promise<number | null>
}

const running: ChildProcess[] = []
const dirs: string[] = []
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) kill(child, 'SIGKILL')
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid ?? 0), signal)
  } catch {
    // already gone
  }
}

/** Starts `pnpm example:<name>` on a fresh SQLite file and port 0; waits for its URL line, printed last. */
async function start(name: string): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), `apimw-example-${name}-`))
  dirs.push(dir)
  const child = spawn('pnpm', ['--silent', `example:${name}`], {
    cwd: root,
    detached: true,
    env: {
      ...process.env,
      APIMW_STORE: `sqlite:${join(dir, 'apimw.db')}`,
      PORT: '0',
      APIMW_ENV: 'test',
      NODE_ENV: 'development',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.push(child)
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  const lines: string[] = []
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  await new Promise<void>((done, fail) => {
    let buffered = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk
      const parts = buffered.split('\n')
      buffered = parts.pop() ?? ''
      lines.push(...parts)
      if (lines.some((line) => line.includes('listening on'))) done()
    })
    child.once('exit', (code) => fail(new Error(`example exited with ${code}: ${stderr}`)))
  })
  const url = /listening on (http:\/\/\S+)/.exec(lines.join('\n'))?.[1]
  if (!url) throw new Error(`no URL line in: ${lines.join('\n')}`)
  return { child, url, lines, exited }
}

describe.each(examples)('examples/%s', (name) => {
  it('prints one URL line and the README quickstart block, which works when pasted into a shell', async () => {
    const { url, lines, child, exited } = await start(name)
    expect(lines.filter((line) => line.includes('listening on'))).toHaveLength(1)
    const paste = lines.filter((line) => PASTE_LINE.test(line))
    const key = /APIMW_API_KEY='([^']+)'/.exec(paste.join('\n'))?.[1] ?? ''
    const secret = /APIMW_API_SECRET='([^']+)'/.exec(paste.join('\n'))?.[1] ?? ''
    expect(key).toMatch(/^apimw_test_[0-9A-Za-z]{22}$/)

    // The README shows the same block, with placeholders.
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
      .split('\n')
      .filter((line) => PASTE_LINE.test(line))
    const templated = paste.map((line) =>
      line
        .replaceAll(key, 'apimw_test_…')
        .replaceAll(secret, '…')
        .replaceAll(url, 'http://127.0.0.1:3000'),
    )
    expect(readme.slice(0, templated.length)).toEqual(templated)

    // Paste it: each curl's output on its own line.
    const script = `set -euo pipefail\n${paste.map((line) => (line.startsWith('curl') ? `${line}; echo` : line)).join('\n')}`
    const { stdout } = await run('bash', ['-c', script], { cwd: root })
    const [me, orders, refreshed] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(me).toMatchObject({
      keyId: key,
      subject: key,
      scopes: ['orders:read', 'orders:write'],
      environment: 'test',
    })
    expect(me).not.toHaveProperty('token')
    expect(orders).toHaveProperty('orders')
    expect(refreshed).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      refresh_token: expect.any(String),
    })

    // The rest of the §9 route table.
    expect((await fetch(`${url}/health`)).status).toBe(200)
    expect((await fetch(`${url}/v1/me`)).status).toBe(401)
    const write = await fetch(`${url}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${refreshed.access_token}` },
    })
    expect(write.status).toBe(201)
    const narrow = await fetch(`${url}/auth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${btoa(`${key}:${secret}`)}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'scope=orders:read',
    })
    const readOnly = (await narrow.json()) as { access_token: string }
    const denied = await fetch(`${url}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readOnly.access_token}` },
    })
    expect(denied.status).toBe(403)

    // Stops cleanly on SIGTERM.
    kill(child, 'SIGTERM')
    await exited
    await expect(fetch(`${url}/health`)).rejects.toThrow()
  }, 60_000)

  it('prints no demo key when the store already holds one, and never in live', async () => {
    const first = await start(name)
    kill(first.child, 'SIGTERM')
    await first.exited
    const again = await output(name, { APIMW_STORE: `sqlite:${join(dirs.at(-1)!, 'apimw.db')}` })
    expect(again).toContain('listening on')
    expect(again).not.toContain('APIMW_API_SECRET')
    const fresh = mkdtempSync(join(tmpdir(), `apimw-example-${name}-live-`))
    dirs.push(fresh)
    const live = await output(name, {
      APIMW_STORE: `sqlite:${join(fresh, 'apimw.db')}`,
      APIMW_ENV: 'live',
    })
    expect(live).toContain('listening on')
    expect(live).not.toContain('APIMW_API_SECRET')
  }, 60_000)
})

/** Starts the example with `env`, returns what it printed up to its URL line (its last), and stops it. */
async function output(name: string, env: Record<string, string>): Promise<string> {
  const child = spawn('pnpm', ['--silent', `example:${name}`], {
    cwd: root,
    detached: true,
    env: { ...process.env, PORT: '0', APIMW_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.push(child)
  const exited = new Promise((done) => child.once('exit', done))
  const text = await new Promise<string>((done, fail) => {
    let printed = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      printed += chunk
      if (printed.includes('listening on')) done(printed)
    })
    child.once('exit', (code) => fail(new Error(`example exited with ${code}`)))
  })
  kill(child, 'SIGTERM')
  await exited
  return text
}
