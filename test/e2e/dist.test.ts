import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const run = promisify(execFile)

beforeAll(async () => {
  // `pnpm test` builds first; build here too when the test runs on its own.
  if (!existsSync(resolve(root, 'packages/express/dist/index.js'))) {
    await run('pnpm', ['exec', 'tsc', '-b'], { cwd: root })
  }
}, 120_000)

it('runs the built dist (no source condition): a key, a token and a guarded request through Express', async () => {
  const script = `
    import { createApimw, createMemoryStore } from '@apimw/core'
    import { apimwAuth, requireBearer } from '@apimw/express'
    import express from 'express'
    const apimw = createApimw({ store: createMemoryStore() })
    const { record, secret } = await apimw.keys.create({ name: 'dist', scopes: ['a'] })
    const app = express().use(apimwAuth(apimw)).get('/me', requireBearer({ scopes: ['a'] }), (req, res) => res.json({ key: req.auth.keyId }))
    const server = app.listen(0, '127.0.0.1', async () => {
      const base = 'http://127.0.0.1:' + server.address().port
      const token = await (await fetch(base + '/auth/token', { method: 'POST', headers: { authorization: 'Basic ' + btoa(record.key + ':' + secret) } })).json()
      const me = await (await fetch(base + '/me', { headers: { authorization: 'Bearer ' + token.access_token } })).json()
      console.log(JSON.stringify({ ok: me.key === record.key, resolved: import.meta.resolve('@apimw/core') }))
      server.close()
    })
  `
  const { stdout } = await run('node', ['--input-type=module', '-e', script], {
    cwd: resolve(root, 'test'),
  })
  const result = JSON.parse(stdout.trim())
  expect(result.ok).toBe(true)
  expect(result.resolved).toMatch(/packages\/core\/dist\/index\.js$/)
})
