import { join } from 'node:path'
import type { ApiKeyRecord, RefreshRotation } from '@apimw/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createSqliteStore } from '../src/index.js'
import { tempDir } from './fixtures/temp-dir.js'
import type { Worker } from './fixtures/workers.js'
import { startWorkers } from './fixtures/workers.js'

const NOW = 1_700_000_000

const key: ApiKeyRecord = {
  key: 'apimw_test_MULTIPROCESSMULTIPROCESS',
  name: 'shared',
  environment: 'test',
  scopes: ['orders:read'],
  allowedIps: [],
  secrets: [{ hash: 'sha256:s', expiresAt: null }],
  createdAt: NOW,
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  metadata: {},
}

async function sharedFile() {
  const path = join(await tempDir(), 'shared.db')
  const store = createSqliteStore({ path })
  onTestFinished(() => store.close?.())
  return { path, store }
}

async function workersOn(path: string, count: number): Promise<Worker[]> {
  const workers = await startWorkers(count)
  onTestFinished(() => Promise.all(workers.map((worker) => worker.stop())).then(() => {}))
  await Promise.all(workers.map((worker) => worker.send({ op: 'open', path })))
  return workers
}

// Several connections in one process: the shared store suite (test/stores/sqlite.test.ts).
describe('several processes on one file', () => {
  it("a process sees another process's writes", { timeout: 30_000 }, async () => {
    const { path, store } = await sharedFile()
    const [worker] = await workersOn(path, 1)
    await worker!.send({ op: 'createKey', record: key })
    expect(await store.keys.get(key.key)).toEqual(key)
    await store.keys.revoke(key.key, NOW + 5)
    expect(await worker!.send({ op: 'getKey', key: key.key })).toEqual({
      ...key,
      revokedAt: NOW + 5,
    })
  })

  it('of concurrent rotate calls of one refresh token from several processes exactly one rotates', {
    timeout: 30_000,
  }, async () => {
    const { path, store } = await sharedFile()
    const workers = await workersOn(path, 6)
    await store.refreshTokens.create({
      hash: 'sha256:shared',
      familyId: 'family',
      keyId: key.key,
      scopes: ['orders:read'],
      environment: 'test',
      issuedAt: NOW,
      expiresAt: NOW + 3600,
      usedAt: null,
      familyRevokedAt: null,
    })
    const results = (await Promise.all(
      workers.map((worker, i) =>
        worker.send({
          op: 'rotate',
          hash: 'sha256:shared',
          nextHash: `sha256:n${i}`,
          now: NOW + 1,
        }),
      ),
    )) as RefreshRotation[]
    expect(results.filter((r) => r.outcome === 'rotated')).toHaveLength(1)
    expect(results.filter((r) => r.outcome === 'reused').length).toBeGreaterThanOrEqual(1)
    expect((await store.refreshTokens.find('sha256:shared'))?.familyRevokedAt).toBe(NOW + 1)
  })

  it('counts every increment made by several processes at once', { timeout: 30_000 }, async () => {
    const { path, store } = await sharedFile()
    const workers = await workersOn(path, 4)
    const counts = (await Promise.all(
      workers.map((worker) =>
        worker.send({ op: 'increment', name: 'shared', times: 25, now: NOW }),
      ),
    )) as number[][]
    expect(counts.flat().sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    )
    expect(await store.counters.get('shared', NOW)).toEqual({ count: 100, resetAt: NOW + 60 })
  })

  it("waits for another process's write lock (busy timeout) instead of failing", {
    timeout: 30_000,
  }, async () => {
    const { path, store } = await sharedFile()
    const [worker] = await workersOn(path, 1)
    // The worker writes counter 'after-lock' = 41 in the transaction that holds the lock.
    expect(await worker!.send({ op: 'holdWriteLock', path, ms: 400 })).toBe('locked')
    const released = worker!.next()
    // Order of events, not durations (a slow machine only makes the wait shorter): the increment
    // did not fail with SQLITE_BUSY, it ran after the worker's commit (it counts on from the
    // worker's 41), and it finished no earlier than the worker reported the release.
    expect(await store.counters.increment('after-lock', 60, NOW)).toEqual({
      count: 42,
      resetAt: NOW + 60,
    })
    const finishedAt = Date.now()
    const { releasedAt } = (await released) as { releasedAt: number }
    expect(finishedAt).toBeGreaterThanOrEqual(releasedAt)
  })
})
