/**
 * The shared store test kit (lucia's `testAdapter`, Auth.js's `runBasicTests`): every store package
 * runs it on a real database. It checks behaviour through the public interfaces only, with `now`
 * values it chooses (never the wall clock, never a sleep), and races concurrent calls where an
 * interface promises atomicity. Every behaviour that is the same for all stores belongs here; a store
 * package's own tests keep only what is specific to its driver (scripts, SQL, TTLs, connections).
 */
import type { ApimwStore, AuditEvent, RefreshRotation, StoreChange } from '@apimw/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { nextChanges, untilSubscribed } from './change-feed-probes.js'
import { apiKey, auditEvent, NOW, refreshToken, signingKey } from './records.js'

export { apiKey, auditEvent, NOW, refreshToken, signingKey } from './records.js'

/** A fresh, empty store and how to dispose of it (drop the file, schema or prefix). */
export interface StoreHandle {
  store: ApimwStore
  cleanup: () => Promise<void>
}

export interface StoreSuiteOptions<H extends StoreHandle> {
  /**
   * Opens a second connection (client, pool, file handle) to the same data as `first`, as another
   * process would. When given, the race tests split their concurrent calls over both connections.
   * Its `cleanup` must release only the second connection; it runs before `first.cleanup`.
   */
  openSecond?: (first: H) => Promise<StoreHandle>
  /**
   * The store runs each `refreshTokens.rotate()` as one serialised step across connections (a Lua
   * script, conditional UPDATEs on one row), so a race of N calls of one token with distinct next hashes ends in exactly
   * one `rotated`, one `reused` and N - 2 `invalid`. Without it the race checks only what the
   * interface promises (one `rotated`, at least one `reused`, the family revoked).
   */
  serialisedRotate?: boolean
}

const outcomes = (results: RefreshRotation[]) => ({
  rotated: results.filter((r) => r.outcome === 'rotated').length,
  reused: results.filter((r) => r.outcome === 'reused').length,
  invalid: results.filter((r) => r.outcome === 'invalid').length,
})

/**
 * Defines the whole store suite under `describe(name)`. `open` is called before every test and
 * must return an empty store; `cleanup` is called after it.
 *
 * @example
 * defineStoreSuite('memory', async () => ({ store: createMemoryStore(), cleanup: async () => {} }))
 */
export function defineStoreSuite<H extends StoreHandle>(
  name: string,
  open: () => Promise<H>,
  options: StoreSuiteOptions<H> = {},
): void {
  describe(name, () => {
    let handle: H
    let store: ApimwStore

    beforeEach(async () => {
      handle = await open()
      store = handle.store
    })
    afterEach(async () => {
      await handle.cleanup()
    })

    /** The stores a race spreads its calls over: both connections when the suite can open two. */
    async function connections<T>(task: (stores: ApimwStore[]) => Promise<T>): Promise<T> {
      const second = options.openSecond ? await options.openSecond(handle) : undefined
      try {
        return await task(second ? [store, second.store] : [store])
      } finally {
        await second?.cleanup()
      }
    }
    const pick = (stores: ApimwStore[], i: number): ApimwStore => stores[i % stores.length]!
    /** The second connection when there is one, else the only one. */
    const last = (stores: ApimwStore[]): ApimwStore => stores[stores.length - 1]!

    describe('keys', () => {
      it('returns undefined for an unknown or malformed key id', async () => {
        expect(await store.keys.get('apimw_test_unknownunknownunknown')).toBeUndefined()
        expect(await store.keys.get('')).toBeUndefined()
        expect(await store.keys.get("'; DROP TABLE api_keys; --")).toBeUndefined()
        expect(await store.keys.get('apimw_test_\u0000\u{1F600}')).toBeUndefined()
        for (const id of ['*', 'a:b:c', '{tag}', 'ü'.repeat(100)]) {
          expect(await store.keys.get(id)).toBeUndefined()
        }
      })

      it('returns a created record unchanged', async () => {
        const record = apiKey({
          secrets: [
            { hash: 'sha256:current', expiresAt: null },
            { hash: 'hmac-sha256:previous', expiresAt: NOW + 60 },
          ],
          lastUsedAt: NOW - 5,
        })
        await store.keys.create(record)
        expect(await store.keys.get(record.key)).toEqual(record)
      })

      it('keeps null and empty fields as they were given, on every connection and through updates', async () => {
        const record = apiKey({ allowedIps: [], scopes: [], expiresAt: null, metadata: {} })
        await store.keys.create(record)
        await connections(async (stores) => {
          for (const s of stores) expect(await s.keys.get(record.key)).toEqual(record)
          const next = { hash: 'sha256:two', expiresAt: null }
          const rotated = {
            ...record,
            secrets: [next, { hash: 'sha256:current', expiresAt: NOW + 60 }],
          }
          expect(await last(stores).keys.rotateSecret(record.key, next, NOW + 60)).toEqual(rotated)
          for (const s of stores) expect(await s.keys.get(record.key)).toEqual(rotated)
        })
      })

      it('keeps odd text and nested empty arrays and objects, on every connection and through updates', async () => {
        const record = apiKey({
          scopes: ['orders:read', 'orders write?', 'ü'],
          allowedIps: ['10.0.0.0/8', '::1'],
          secrets: [{ hash: 'sha256:one/+=', expiresAt: null }],
          metadata: {
            team: { id: 7, tags: [] },
            empty: {},
            lists: [[], {}, [[]]],
            note: 'a "quoted" value\\ \n\u{1F600}',
          },
        })
        await connections(async (stores) => {
          await stores[0]!.keys.create(record)
          for (const s of stores) expect(await s.keys.get(record.key)).toEqual(record)
          const rotated = {
            ...record,
            secrets: [
              { hash: 'sha256:two', expiresAt: null },
              { hash: 'sha256:one/+=', expiresAt: NOW + 3600 },
            ],
          }
          expect(
            await last(stores).keys.rotateSecret(
              record.key,
              { hash: 'sha256:two', expiresAt: null },
              NOW + 3600,
            ),
          ).toEqual(rotated)
          for (const s of stores) expect(await s.keys.get(record.key)).toEqual(rotated)
          const revoked = { ...rotated, revokedAt: NOW + 10 }
          expect(await stores[0]!.keys.revoke(record.key, NOW + 10)).toEqual(revoked)
          for (const s of stores) expect(await s.keys.list()).toEqual([revoked])
        })
      })

      it('rejects a duplicate key id and keeps the original record', async () => {
        const original = apiKey()
        await store.keys.create(original)
        await expect(
          store.keys.create(apiKey({ name: 'impostor', scopes: ['admin'] })),
        ).rejects.toBeInstanceOf(Error)
        expect(await store.keys.get(original.key)).toEqual(original)
        expect(await store.keys.list()).toHaveLength(1)
      })

      it('of 10 concurrent creates of one key id across connections exactly one wins', async () => {
        await connections(async (stores) => {
          const candidates = Array.from({ length: 10 }, (_, i) => apiKey({ name: `racer-${i}` }))
          const results = await Promise.allSettled(
            candidates.map((candidate, i) => pick(stores, i).keys.create(candidate)),
          )
          const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
          expect(winners).toHaveLength(1)
          for (const result of results) {
            if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(Error)
          }
          const winner = candidates[winners[0]!]!
          for (const s of stores) {
            expect(await s.keys.get(winner.key)).toEqual(winner)
            expect(await s.keys.list()).toEqual([winner])
          }
        })
      })

      it('lists nothing on a new store and every record oldest first', async () => {
        expect(await store.keys.list()).toEqual([])
        const records = ['a', 'b', 'c'].map((id, i) =>
          apiKey({ key: `apimw_test_${id.repeat(24)}`, name: id, createdAt: NOW + i }),
        )
        for (const record of records) await store.keys.create(record)
        expect(await store.keys.list()).toEqual(records)
      })

      it('lists by createdAt, insertion order breaking ties, whichever connection created them', async () => {
        const c = apiKey({ key: 'apimw_test_c', name: 'c', createdAt: NOW + 1 })
        const b = apiKey({ key: 'apimw_test_b', name: 'b', createdAt: NOW })
        const a = apiKey({ key: 'apimw_test_a', name: 'a', createdAt: NOW })
        await connections(async (stores) => {
          await stores[0]!.keys.create(c)
          await last(stores).keys.create(b)
          await stores[0]!.keys.create(a)
          for (const s of stores) expect(await s.keys.list()).toEqual([b, a, c])
        })
      })

      it('rotateSecret makes the new secret current and keeps the old one with its expiry', async () => {
        const record = apiKey()
        await store.keys.create(record)
        const next = { hash: 'sha256:next', expiresAt: null }
        const expected = {
          ...record,
          secrets: [next, { hash: 'sha256:current', expiresAt: NOW + 3600 }],
        }
        expect(await store.keys.rotateSecret(record.key, next, NOW + 3600)).toEqual(expected)
        expect(await store.keys.get(record.key)).toEqual(expected)
      })

      it('rotateSecret keeps exactly the current and the previous secret', async () => {
        const record = apiKey()
        await store.keys.create(record)
        await store.keys.rotateSecret(
          record.key,
          { hash: 'sha256:second', expiresAt: null },
          NOW + 10,
        )
        const after = await store.keys.rotateSecret(
          record.key,
          { hash: 'sha256:third', expiresAt: null },
          NOW + 20,
        )
        const expected = [
          { hash: 'sha256:third', expiresAt: null },
          { hash: 'sha256:second', expiresAt: NOW + 20 },
        ]
        expect(after?.secrets).toEqual(expected)
        expect((await store.keys.get(record.key))?.secrets).toEqual(expected)
      })

      it('rotateSecret repeated with the same secret (a retried call, any connection) changes nothing', async () => {
        const record = apiKey()
        await store.keys.create(record)
        const next = { hash: 'sha256:next', expiresAt: null }
        const expected = {
          ...record,
          secrets: [next, { hash: 'sha256:current', expiresAt: NOW + 3600 }],
        }
        await connections(async (stores) => {
          expect(await stores[0]!.keys.rotateSecret(record.key, next, NOW + 3600)).toEqual(expected)
          expect(await last(stores).keys.rotateSecret(record.key, next, NOW + 7200)).toEqual(
            expected,
          )
          for (const s of stores) expect(await s.keys.get(record.key)).toEqual(expected)
          // Another secret afterwards is a rotation as usual.
          const third = { hash: 'sha256:third', expiresAt: null }
          expect(await stores[0]!.keys.rotateSecret(record.key, third, NOW)).toEqual({
            ...record,
            secrets: [third, { hash: 'sha256:next', expiresAt: NOW }],
          })
        })
      })

      it('rotateSecret returns undefined for an unknown key and creates nothing', async () => {
        const result = await store.keys.rotateSecret(
          'apimw_test_unknownunknownunknown',
          { hash: 'sha256:next', expiresAt: null },
          NOW + 10,
        )
        expect(result).toBeUndefined()
        expect(await store.keys.get('apimw_test_unknownunknownunknown')).toBeUndefined()
        expect(await store.keys.list()).toEqual([])
      })

      it('rotateSecret refuses a revoked key and changes nothing', async () => {
        const record = apiKey()
        await store.keys.create(record)
        const revoked = await store.keys.revoke(record.key, NOW + 1)
        const result = await store.keys.rotateSecret(
          record.key,
          { hash: 'sha256:next', expiresAt: null },
          NOW + 10,
        )
        expect(result).toBeUndefined()
        expect(await store.keys.get(record.key)).toEqual(revoked)
        expect(revoked?.secrets).toEqual(record.secrets)
      })

      it('revoke sets revokedAt, keeps the first revocation time and the other fields', async () => {
        const record = apiKey()
        await store.keys.create(record)
        expect(await store.keys.revoke(record.key, NOW + 10)).toEqual({
          ...record,
          revokedAt: NOW + 10,
        })
        expect(await store.keys.revoke(record.key, NOW + 20)).toEqual({
          ...record,
          revokedAt: NOW + 10,
        })
        expect((await store.keys.get(record.key))?.revokedAt).toBe(NOW + 10)
      })

      it('10 concurrent revokes across connections agree on one revocation time and keep it', async () => {
        const record = apiKey()
        await store.keys.create(record)
        await connections(async (stores) => {
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) => pick(stores, i).keys.revoke(record.key, NOW + i)),
          )
          const revokedAt = results[0]?.revokedAt
          expect(Array.from({ length: 10 }, (_, i) => NOW + i)).toContain(revokedAt)
          for (const result of results) expect(result).toEqual({ ...record, revokedAt })
          for (const s of stores) {
            expect(await s.keys.get(record.key)).toEqual({ ...record, revokedAt })
            expect(await s.keys.revoke(record.key, NOW + 100)).toEqual({ ...record, revokedAt })
          }
        })
      })

      it('revoke returns undefined for an unknown key', async () => {
        expect(await store.keys.revoke('apimw_test_unknownunknownunknown', NOW)).toBeUndefined()
        expect(await store.keys.list()).toEqual([])
      })

      it('touch keeps the latest lastUsedAt', async () => {
        const record = apiKey()
        await store.keys.create(record)
        await store.keys.touch(record.key, NOW + 10)
        expect((await store.keys.get(record.key))?.lastUsedAt).toBe(NOW + 10)
        await store.keys.touch(record.key, NOW + 5)
        expect((await store.keys.get(record.key))?.lastUsedAt).toBe(NOW + 10)
        await store.keys.touch(record.key, NOW + 20)
        expect(await store.keys.get(record.key)).toEqual({ ...record, lastUsedAt: NOW + 20 })
      })

      it('20 concurrent touches across connections keep the latest use', async () => {
        const record = apiKey()
        await store.keys.create(record)
        // Touches may be batched: the second connection writes its own by the time it is closed.
        await connections(async (stores) => {
          await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              pick(stores, i).keys.touch(record.key, NOW + ((i * 7) % 20)),
            ),
          )
        })
        expect(await store.keys.get(record.key)).toEqual({ ...record, lastUsedAt: NOW + 19 })
      })

      it('touch of an unknown key does nothing', async () => {
        await store.keys.touch('apimw_test_unknownunknownunknown', NOW)
        expect(await store.keys.list()).toEqual([])
      })
    })

    describe('signing keys', () => {
      it('lists nothing on a new store', async () => {
        expect(await store.signingKeys.list()).toEqual([])
      })

      it('activate inserts the candidate when no key of its alg is active', async () => {
        const candidate = signingKey('k1')
        expect(await store.signingKeys.activate(candidate)).toEqual(candidate)
        expect(await store.signingKeys.list()).toEqual([candidate])
      })

      it('activate returns the active key and ignores another candidate', async () => {
        const first = signingKey('k1')
        await store.signingKeys.activate(first)
        expect(await store.signingKeys.activate(signingKey('k2', { createdAt: NOW + 1 }))).toEqual(
          first,
        )
        expect(await store.signingKeys.list()).toEqual([first])
      })

      it('activate keeps one active key per alg', async () => {
        const es = signingKey('es')
        const ed = signingKey('ed', {
          alg: 'EdDSA',
          createdAt: NOW + 1,
          publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'x-ed' },
          privateJwk: { kty: 'OKP', crv: 'Ed25519', x: 'x-ed', d: 'd-ed' },
        })
        expect(await store.signingKeys.activate(es)).toEqual(es)
        expect(await store.signingKeys.activate(ed)).toEqual(ed)
        expect(await store.signingKeys.list()).toEqual([ed, es])
      })

      it('20 concurrent activate calls with different candidates agree on one key', async () => {
        await connections(async (stores) => {
          const candidates = Array.from({ length: 20 }, (_, i) => signingKey(`race-${i}`))
          const results = await Promise.all(
            candidates.map((candidate, i) => pick(stores, i).signingKeys.activate(candidate)),
          )
          const winner = results[0]!
          expect(candidates).toContainEqual(winner)
          for (const result of results) expect(result).toEqual(winner)
          for (const s of stores) expect(await s.signingKeys.list()).toEqual([winner])
          // Another alg has no active key yet: its candidate goes in beside the winner.
          const hs = signingKey('hs', { alg: 'HS256', createdAt: NOW + 1 })
          expect(await last(stores).signingKeys.activate(hs)).toEqual(hs)
          for (const s of stores) expect(await s.signingKeys.list()).toEqual([hs, winner])
        })
      })

      it('rotate ends the active key and makes the next one active, newest first', async () => {
        const old = signingKey('old')
        await store.signingKeys.activate(old)
        const next = signingKey('next', { createdAt: NOW + 100 })
        await connections(async (stores) => {
          await last(stores).signingKeys.rotate(next, NOW + 100, NOW + 3700)
          for (const s of stores) {
            expect(await s.signingKeys.list()).toEqual([
              next,
              { ...old, rotatedAt: NOW + 100, notAfter: NOW + 3700 },
            ])
          }
          expect(
            await stores[0]!.signingKeys.activate(signingKey('late', { createdAt: NOW + 101 })),
          ).toEqual(next)
        })
      })

      it('rotate starts a first key when none is active', async () => {
        const first = signingKey('first')
        await store.signingKeys.rotate(first, NOW, NOW + 3600)
        expect(await store.signingKeys.list()).toEqual([first])
      })

      it('rotate leaves the active key of another alg alone', async () => {
        const ed = signingKey('ed', { alg: 'EdDSA' })
        await store.signingKeys.activate(ed)
        await store.signingKeys.activate(signingKey('es-1', { createdAt: NOW + 1 }))
        const es2 = signingKey('es-2', { createdAt: NOW + 2 })
        await store.signingKeys.rotate(es2, NOW + 2, NOW + 100)
        const list = await store.signingKeys.list()
        expect(list.find((k) => k.kid === 'ed')).toEqual(ed)
        expect(list.find((k) => k.kid === 'es-1')).toMatchObject({
          rotatedAt: NOW + 2,
          notAfter: NOW + 100,
        })
        expect(list.filter((k) => k.rotatedAt === null).map((k) => k.kid)).toEqual(['es-2', 'ed'])
      })

      it('rotate drops the keys whose notAfter has passed', async () => {
        const a = signingKey('a')
        await store.signingKeys.activate(a)
        const b = signingKey('b', { createdAt: NOW + 10 })
        await store.signingKeys.rotate(b, NOW + 10, NOW + 100)
        const c = signingKey('c', { createdAt: NOW + 50 })
        await store.signingKeys.rotate(c, NOW + 50, NOW + 1000)
        expect((await store.signingKeys.list()).map((k) => k.kid)).toEqual(['c', 'b', 'a'])
        const d = signingKey('d', { createdAt: NOW + 500 })
        await store.signingKeys.rotate(d, NOW + 500, NOW + 2000)
        expect(await store.signingKeys.list()).toEqual([
          d,
          { ...c, rotatedAt: NOW + 500, notAfter: NOW + 2000 },
          { ...b, rotatedAt: NOW + 50, notAfter: NOW + 1000 },
        ])
        // A key whose notAfter is now has passed it too.
        const e = signingKey('e', { createdAt: NOW + 1000 })
        await store.signingKeys.rotate(e, NOW + 1000, NOW + 3000)
        expect(await store.signingKeys.list()).toEqual([
          e,
          { ...d, rotatedAt: NOW + 1000, notAfter: NOW + 3000 },
          { ...c, rotatedAt: NOW + 500, notAfter: NOW + 2000 },
        ])
      })

      it('30 concurrent activate and rotate calls across connections never leave two active keys of one alg', async () => {
        const zero = signingKey('zero')
        const ed = signingKey('ed', { alg: 'EdDSA' })
        await store.signingKeys.activate(zero)
        await store.signingKeys.activate(ed)
        await connections(async (stores) => {
          const calls = Array.from({ length: 30 }, (_, i) =>
            i % 3 === 0
              ? pick(stores, i).signingKeys.activate(signingKey(`a${i}`, { createdAt: NOW + i }))
              : pick(stores, i)
                  .signingKeys.rotate(
                    signingKey(`r${i}`, { createdAt: NOW + i }),
                    NOW + i,
                    NOW + 1000,
                  )
                  .then(() => undefined),
          )
          const rotated = Array.from({ length: 30 }, (_, i) => i)
            .filter((i) => i % 3 !== 0)
            .map((i) => `r${i}`)
          // An ES256 key is active throughout: no activate inserts its candidate.
          for (const result of await Promise.all(calls)) {
            if (result) expect(['zero', ...rotated]).toContain(result.kid)
          }
          for (const s of stores) {
            const list = await s.signingKeys.list()
            const es = list.filter((k) => k.alg === 'ES256')
            const active = es.filter((k) => k.rotatedAt === null)
            expect(active).toHaveLength(1)
            expect(rotated).toContain(active[0]!.kid)
            expect(es.map((k) => k.kid).sort()).toEqual(['zero', ...rotated].sort())
            for (const k of es) {
              if (k.rotatedAt !== null) expect(k.notAfter).toBe(NOW + 1000)
            }
            expect(list.filter((k) => k.alg === 'EdDSA')).toEqual([ed])
          }
        })
      })
    })

    describe('refresh tokens', () => {
      it('finds nothing for an unknown hash', async () => {
        expect(await store.refreshTokens.find('sha256:unknown')).toBeUndefined()
      })

      it('finds a created token with its family', async () => {
        const record = refreshToken()
        await store.refreshTokens.create(record)
        expect(await store.refreshTokens.find(record.hash)).toEqual(record)
      })

      it('create rejects an existing family and changes nothing: a revoked family stays revoked', async () => {
        const record = refreshToken()
        await store.refreshTokens.create(record)
        await store.refreshTokens.revokeFamily(record.familyId, NOW + 10)
        await expect(
          store.refreshTokens.create(refreshToken({ hash: 'sha256:other', issuedAt: NOW + 20 })),
        ).rejects.toBeInstanceOf(Error)
        expect(await store.refreshTokens.find(record.hash)).toEqual({
          ...record,
          familyRevokedAt: NOW + 10,
        })
        expect(await store.refreshTokens.find('sha256:other')).toBeUndefined()
        expect(await store.refreshTokens.rotate(record.hash, 'sha256:next', NOW + 30)).toEqual({
          outcome: 'invalid',
        })
      })

      it('create rejects an existing hash and changes nothing', async () => {
        const record = refreshToken()
        await store.refreshTokens.create(record)
        await store.refreshTokens.rotate(record.hash, 'sha256:refresh-2', NOW + 60)
        await expect(
          store.refreshTokens.create(
            refreshToken({ familyId: 'family-2', keyId: 'key-b', issuedAt: NOW + 70 }),
          ),
        ).rejects.toBeInstanceOf(Error)
        expect(await store.refreshTokens.find(record.hash)).toEqual({ ...record, usedAt: NOW + 60 })
        expect(await store.refreshTokens.rotate(record.hash, 'sha256:x', NOW + 80)).toMatchObject({
          outcome: 'reused',
        })
        // The rejected call did not start family-2 either.
        const fresh = refreshToken({ hash: 'sha256:fresh', familyId: 'family-2' })
        await store.refreshTokens.create(fresh)
        expect(await store.refreshTokens.find(fresh.hash)).toEqual(fresh)
      })

      it('rotate marks the token used and issues the next one in the same family', async () => {
        const record = refreshToken()
        await store.refreshTokens.create(record)
        const previous = { ...record, usedAt: NOW + 60 }
        const next = { ...record, hash: 'sha256:refresh-2', issuedAt: NOW + 60, usedAt: null }
        await connections(async (stores) => {
          const result = await last(stores).refreshTokens.rotate(
            record.hash,
            'sha256:refresh-2',
            NOW + 60,
          )
          expect(result).toEqual({ outcome: 'rotated', previous, next })
          for (const s of stores) {
            expect(await s.refreshTokens.find(record.hash)).toEqual(previous)
            expect(await s.refreshTokens.find('sha256:refresh-2')).toEqual(next)
          }
        })
      })

      it('rotating the next token continues the family', async () => {
        const record = refreshToken()
        await store.refreshTokens.create(record)
        await store.refreshTokens.rotate(record.hash, 'sha256:refresh-2', NOW + 60)
        const result = await store.refreshTokens.rotate(
          'sha256:refresh-2',
          'sha256:refresh-3',
          NOW + 120,
        )
        expect(result).toMatchObject({
          outcome: 'rotated',
          previous: { hash: 'sha256:refresh-2', usedAt: NOW + 120 },
          next: {
            hash: 'sha256:refresh-3',
            familyId: record.familyId,
            keyId: record.keyId,
            scopes: record.scopes,
            environment: record.environment,
            expiresAt: record.expiresAt,
            issuedAt: NOW + 120,
            usedAt: null,
            familyRevokedAt: null,
          },
        })
      })

      it('a second rotate of the same token reports reuse and revokes the family', async () => {
        const record = refreshToken()
        await store.refreshTokens.create(record)
        await connections(async (stores) => {
          await last(stores).refreshTokens.rotate(record.hash, 'sha256:refresh-2', NOW + 60)
          const reuse = await stores[0]!.refreshTokens.rotate(
            record.hash,
            'sha256:attacker',
            NOW + 90,
          )
          expect(reuse).toEqual({
            outcome: 'reused',
            previous: { ...record, usedAt: NOW + 60, familyRevokedAt: NOW + 90 },
          })
          for (const s of stores) {
            expect(await s.refreshTokens.find('sha256:attacker')).toBeUndefined()
            expect(await s.refreshTokens.find('sha256:refresh-2')).toMatchObject({
              familyRevokedAt: NOW + 90,
              usedAt: null,
            })
          }
        })
        expect(
          await store.refreshTokens.rotate('sha256:refresh-2', 'sha256:refresh-3', NOW + 100),
        ).toEqual({ outcome: 'invalid' })
        expect(await store.refreshTokens.find('sha256:refresh-3')).toBeUndefined()
        expect(await store.refreshTokens.rotate(record.hash, 'sha256:again', NOW + 110)).toEqual({
          outcome: 'invalid',
        })
        expect((await store.refreshTokens.find(record.hash))?.familyRevokedAt).toBe(NOW + 90)
      })

      it('rotate repeated with the same nextHash (a replay) reports the same rotation and revokes nothing', async () => {
        const record = refreshToken()
        await store.refreshTokens.create(record)
        const previous = { ...record, usedAt: NOW + 60 }
        const next = { ...record, hash: 'sha256:refresh-2', issuedAt: NOW + 60, usedAt: null }
        const first = await store.refreshTokens.rotate(record.hash, 'sha256:refresh-2', NOW + 60)
        expect(first).toEqual({ outcome: 'rotated', previous, next })
        await connections(async (stores) => {
          // The same call again, later, on any connection: the records as stored, nothing changed.
          expect(
            await last(stores).refreshTokens.rotate(record.hash, 'sha256:refresh-2', NOW + 61),
          ).toEqual(first)
          for (const s of stores) {
            expect(await s.refreshTokens.find(record.hash)).toEqual(previous)
            expect(await s.refreshTokens.find('sha256:refresh-2')).toEqual(next)
          }
          // Still a replay once the next token was used in turn (then reported used).
          await stores[0]!.refreshTokens.rotate('sha256:refresh-2', 'sha256:refresh-3', NOW + 70)
          expect(
            await last(stores).refreshTokens.rotate(record.hash, 'sha256:refresh-2', NOW + 80),
          ).toEqual({ outcome: 'rotated', previous, next: { ...next, usedAt: NOW + 70 } })
        })
        expect((await store.refreshTokens.find('sha256:refresh-3'))?.familyRevokedAt).toBeNull()
        // Another nextHash is a reuse, as always.
        expect(await store.refreshTokens.rotate(record.hash, 'sha256:other', NOW + 90)).toEqual({
          outcome: 'reused',
          previous: { ...previous, familyRevokedAt: NOW + 90 },
        })
        expect(await store.refreshTokens.find('sha256:other')).toBeUndefined()
        expect(await store.refreshTokens.rotate(record.hash, 'sha256:refresh-2', NOW + 91)).toEqual(
          { outcome: 'invalid' },
        )
      })

      it('20 concurrent repeats of one rotation (same nextHash) across connections all report that rotation', async () => {
        const record = refreshToken()
        await store.refreshTokens.create(record)
        const rotated = {
          outcome: 'rotated',
          previous: { ...record, usedAt: NOW + 5 },
          next: { ...record, hash: 'sha256:refresh-2', issuedAt: NOW + 5, usedAt: null },
        }
        await connections(async (stores) => {
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              pick(stores, i).refreshTokens.rotate(record.hash, 'sha256:refresh-2', NOW + 5),
            ),
          )
          for (const result of results) expect(result).toEqual(rotated)
          for (const s of stores) {
            expect(await s.refreshTokens.find(record.hash)).toEqual(rotated.previous)
            expect(await s.refreshTokens.find('sha256:refresh-2')).toEqual(rotated.next)
          }
        })
      })

      it('rotate of an expired token is invalid and changes nothing', async () => {
        const record = refreshToken({ expiresAt: NOW + 100 })
        await store.refreshTokens.create(record)
        expect(await store.refreshTokens.rotate(record.hash, 'sha256:late', NOW + 100)).toEqual({
          outcome: 'invalid',
        })
        expect(await store.refreshTokens.rotate(record.hash, 'sha256:later', NOW + 500)).toEqual({
          outcome: 'invalid',
        })
        expect(await store.refreshTokens.find(record.hash)).toEqual(record)
        expect(await store.refreshTokens.find('sha256:late')).toBeUndefined()
      })

      it('rotate just before the family expires still works', async () => {
        const record = refreshToken({ expiresAt: NOW + 100 })
        await store.refreshTokens.create(record)
        const result = await store.refreshTokens.rotate(record.hash, 'sha256:refresh-2', NOW + 99)
        expect(result).toMatchObject({ outcome: 'rotated', next: { expiresAt: NOW + 100 } })
      })

      it('rotate of an unknown token is invalid and creates nothing', async () => {
        expect(await store.refreshTokens.rotate('sha256:unknown', 'sha256:next', NOW)).toEqual({
          outcome: 'invalid',
        })
        expect(await store.refreshTokens.find('sha256:next')).toBeUndefined()
      })

      it('rotate in a revoked family is invalid and leaves the token unused', async () => {
        const record = refreshToken()
        await store.refreshTokens.create(record)
        await store.refreshTokens.revokeFamily(record.familyId, NOW + 10)
        expect(await store.refreshTokens.rotate(record.hash, 'sha256:next', NOW + 20)).toEqual({
          outcome: 'invalid',
        })
        expect(await store.refreshTokens.find(record.hash)).toEqual({
          ...record,
          familyRevokedAt: NOW + 10,
        })
        expect(await store.refreshTokens.find('sha256:next')).toBeUndefined()
      })

      it('revokeFamily revokes every token of the family only, keeping the first time', async () => {
        const record = refreshToken()
        const other = refreshToken({ hash: 'sha256:other', familyId: 'family-2' })
        await store.refreshTokens.create(record)
        await store.refreshTokens.create(other)
        await store.refreshTokens.rotate(record.hash, 'sha256:refresh-2', NOW + 60)
        await store.refreshTokens.revokeFamily(record.familyId, NOW + 70)
        await store.refreshTokens.revokeFamily(record.familyId, NOW + 80)
        expect((await store.refreshTokens.find(record.hash))?.familyRevokedAt).toBe(NOW + 70)
        expect((await store.refreshTokens.find('sha256:refresh-2'))?.familyRevokedAt).toBe(NOW + 70)
        expect(await store.refreshTokens.find(other.hash)).toEqual(other)
      })

      it('revokeFamily of an unknown family does nothing', async () => {
        await store.refreshTokens.revokeFamily('family-unknown', NOW)
        expect(await store.refreshTokens.find('sha256:refresh-1')).toBeUndefined()
      })

      it("revokeByKey revokes every family of that key and no other key's", async () => {
        const a1 = refreshToken({ hash: 'sha256:a1', familyId: 'fa1', keyId: 'key-a' })
        const a2 = refreshToken({ hash: 'sha256:a2', familyId: 'fa2', keyId: 'key-a' })
        const b1 = refreshToken({ hash: 'sha256:b1', familyId: 'fb1', keyId: 'key-b' })
        for (const record of [a1, a2, b1]) await store.refreshTokens.create(record)
        await store.refreshTokens.rotate(a1.hash, 'sha256:a1-next', NOW + 10)
        await store.refreshTokens.revokeFamily('fa2', NOW + 15)
        await connections(async (stores) => {
          await last(stores).refreshTokens.revokeByKey('key-a', NOW + 20)
          // A later revokeFamily keeps the first revocation time, the key's.
          await stores[0]!.refreshTokens.revokeFamily('fa1', NOW + 25)
          for (const s of stores) {
            expect((await s.refreshTokens.find('sha256:a1-next'))?.familyRevokedAt).toBe(NOW + 20)
            expect((await s.refreshTokens.find(a1.hash))?.familyRevokedAt).toBe(NOW + 20)
            expect((await s.refreshTokens.find(a2.hash))?.familyRevokedAt).toBe(NOW + 15)
            expect(await s.refreshTokens.find(b1.hash)).toEqual(b1)
          }
        })
        expect(await store.refreshTokens.rotate('sha256:a1-next', 'sha256:x', NOW + 30)).toEqual({
          outcome: 'invalid',
        })
        expect(await store.refreshTokens.find('sha256:x')).toBeUndefined()
      })

      it('of 50 concurrent rotate calls of one token across connections exactly one rotates, and the family ends revoked', async () => {
        const record = refreshToken()
        await store.refreshTokens.create(record)
        await connections(async (stores) => {
          const results = await Promise.all(
            Array.from({ length: 50 }, (_, i) =>
              pick(stores, i).refreshTokens.rotate(record.hash, `sha256:next-${i}`, NOW + 60),
            ),
          )
          const counts = outcomes(results)
          expect(counts.rotated).toBe(1)
          expect(counts.reused).toBeGreaterThanOrEqual(1)
          expect(counts.rotated + counts.reused + counts.invalid).toBe(50)
          if (options.serialisedRotate)
            expect(counts).toEqual({ rotated: 1, reused: 1, invalid: 48 })
          const winner = results.findIndex((r) => r.outcome === 'rotated')
          const previous = { ...record, usedAt: NOW + 60 }
          const next = {
            ...record,
            hash: `sha256:next-${winner}`,
            issuedAt: NOW + 60,
            usedAt: null,
          }
          expect(results[winner]).toEqual({ outcome: 'rotated', previous, next })
          for (const result of results) {
            if (result.outcome === 'reused') {
              expect(result).toEqual({
                outcome: 'reused',
                previous: { ...previous, familyRevokedAt: NOW + 60 },
              })
            }
          }
          for (const [i, s] of stores.entries()) {
            expect(await s.refreshTokens.find(record.hash)).toEqual({
              ...previous,
              familyRevokedAt: NOW + 60,
            })
            expect(await s.refreshTokens.find(next.hash)).toEqual({
              ...next,
              familyRevokedAt: NOW + 60,
            })
            // Every loser's next token, each looked up on one connection or the other.
            for (let j = i; j < 50; j += stores.length) {
              if (j !== winner)
                expect(await s.refreshTokens.find(`sha256:next-${j}`)).toBeUndefined()
            }
          }
          expect(
            await last(stores).refreshTokens.rotate(next.hash, 'sha256:after', NOW + 61),
          ).toEqual({ outcome: 'invalid' })
        })
      })
    })

    describe('revocations', () => {
      it('does not report an unknown jti as revoked', async () => {
        expect(await store.revocations.isRevoked('jti-unknown', NOW)).toBe(false)
      })

      it('reports a revoked jti until its expiry, on every connection', async () => {
        await connections(async (stores) => {
          await last(stores).revocations.revoke('jti-1', NOW + 100)
          await last(stores).revocations.revoke('jti-3', NOW + 100, NOW)
          // Time only moves forward: a store may drop an entry once asked past its expiry.
          const expected: [number, boolean][] = [
            [NOW, true],
            [NOW + 99, true],
            [NOW + 100, false],
            [NOW + 1000, false],
          ]
          for (const [at, revoked] of expected) {
            for (const s of stores) {
              expect(await s.revocations.isRevoked('jti-1', at)).toBe(revoked)
              expect(await s.revocations.isRevoked('jti-3', at)).toBe(revoked)
              expect(await s.revocations.isRevoked('jti-2', at)).toBe(false)
            }
          }
        })
      })

      it('a repeat with an earlier expiry, from any connection, keeps the later one', async () => {
        await connections(async (stores) => {
          await stores[0]!.revocations.revoke('jti-1', NOW + 200, NOW)
          await last(stores).revocations.revoke('jti-1', NOW + 100, NOW + 50)
          await stores[0]!.revocations.revoke('jti-2', NOW + 100)
          await last(stores).revocations.revoke('jti-2', NOW + 50)
          const expected: [number, boolean, boolean][] = [
            [NOW + 99, true, true],
            [NOW + 100, true, false],
            [NOW + 199, true, false],
            [NOW + 200, false, false],
          ]
          for (const [at, first, second] of expected) {
            for (const s of stores) {
              expect(await s.revocations.isRevoked('jti-1', at)).toBe(first)
              expect(await s.revocations.isRevoked('jti-2', at)).toBe(second)
            }
          }
        })
      })

      it('revoke is idempotent', async () => {
        await store.revocations.revoke('jti-1', NOW + 100)
        await store.revocations.revoke('jti-1', NOW + 100)
        expect(await store.revocations.isRevoked('jti-1', NOW + 50)).toBe(true)
        expect(await store.revocations.isRevoked('jti-1', NOW + 100)).toBe(false)
      })
    })

    describe('counters', () => {
      it('starts a window of windowSeconds at now with a count of 1', async () => {
        expect(await store.counters.increment('ip:1', 60, NOW)).toEqual({
          count: 1,
          resetAt: NOW + 60,
        })
      })

      it('counts within the window and keeps its end', async () => {
        await store.counters.increment('ip:1', 60, NOW)
        expect(await store.counters.increment('ip:1', 60, NOW + 30)).toEqual({
          count: 2,
          resetAt: NOW + 60,
        })
        expect(await store.counters.increment('ip:1', 60, NOW + 59)).toEqual({
          count: 3,
          resetAt: NOW + 60,
        })
      })

      it('starts again from zero once the window has ended, on any connection', async () => {
        await store.counters.increment('ip:1', 60, NOW)
        await store.counters.increment('ip:1', 60, NOW + 1)
        await connections(async (stores) => {
          expect(await last(stores).counters.increment('ip:1', 60, NOW + 60)).toEqual({
            count: 1,
            resetAt: NOW + 120,
          })
          for (const s of stores) {
            expect(await s.counters.get('ip:1', NOW + 60)).toEqual({ count: 1, resetAt: NOW + 120 })
          }
        })
        expect(await store.counters.increment('ip:1', 10, NOW + 500)).toEqual({
          count: 1,
          resetAt: NOW + 510,
        })
      })

      it('keeps counters of different names apart', async () => {
        await store.counters.increment('a', 60, NOW)
        await store.counters.increment('a', 60, NOW)
        expect(await store.counters.increment('b', 60, NOW + 5)).toEqual({
          count: 1,
          resetAt: NOW + 65,
        })
        expect(await store.counters.get('a', NOW + 5)).toEqual({ count: 2, resetAt: NOW + 60 })
      })

      it('get returns the live counter, and undefined when unknown or ended', async () => {
        expect(await store.counters.get('ip:1', NOW)).toBeUndefined()
        await store.counters.increment('ip:1', 60, NOW)
        expect(await store.counters.get('ip:1', NOW + 59)).toEqual({ count: 1, resetAt: NOW + 60 })
        expect(await store.counters.get('ip:1', NOW + 60)).toBeUndefined()
      })

      it('delete removes the counter for every connection, and ignores an unknown one', async () => {
        await store.counters.increment('ip:1', 60, NOW)
        await connections(async (stores) => {
          await last(stores).counters.delete('ip:1')
          await last(stores).counters.delete('unknown')
          for (const s of stores) expect(await s.counters.get('ip:1', NOW)).toBeUndefined()
        })
        expect(await store.counters.increment('ip:1', 60, NOW + 1)).toEqual({
          count: 1,
          resetAt: NOW + 61,
        })
      })

      it('50 concurrent increments count to 50, each seeing its own count', async () => {
        await connections(async (stores) => {
          const results = await Promise.all(
            Array.from({ length: 50 }, (_, i) =>
              pick(stores, i).counters.increment('race', 60, NOW),
            ),
          )
          const counts = results.map((r) => r.count).sort((a, b) => a - b)
          expect(counts).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
          for (const result of results) expect(result.resetAt).toBe(NOW + 60)
          for (const s of stores) {
            expect(await s.counters.get('race', NOW)).toEqual({ count: 50, resetAt: NOW + 60 })
            expect(await s.counters.get('race', NOW + 59)).toEqual({ count: 50, resetAt: NOW + 60 })
            expect(await s.counters.get('race', NOW + 60)).toBeUndefined()
          }
        })
      })
    })

    describe('audit', () => {
      it('tails nothing on a new store', async () => {
        expect(await store.audit.tail({ limit: 10 })).toEqual([])
      })

      it('returns written events oldest first with every field', async () => {
        const full = auditEvent(1, {
          type: 'auth.failed',
          keyId: 'key-a',
          ip: '2001:db8::1',
          reason: 'secret_mismatch',
          details: { attempt: 3, path: '/auth/token', nested: { ok: false } },
        })
        const minimal: AuditEvent = { type: 'store.failed', at: new Date(NOW * 1000).toISOString() }
        await connections(async (stores) => {
          await stores[0]!.audit.write(full)
          await last(stores).audit.write(minimal)
          for (const s of stores) {
            expect(await s.audit.tail({ limit: 10 })).toStrictEqual([full, minimal])
          }
        })
      })

      it('tail returns the newest limit events, oldest first', async () => {
        const events = Array.from({ length: 5 }, (_, i) => auditEvent(i))
        for (const event of events) await store.audit.write(event)
        expect(await store.audit.tail({ limit: 3 })).toEqual(events.slice(2))
        expect(await store.audit.tail({ limit: 1 })).toEqual(events.slice(4))
        expect(await store.audit.tail({ limit: 100 })).toEqual(events)
        expect(await store.audit.tail({ limit: 0 })).toEqual([])
        expect(await store.audit.tail({ limit: -1 })).toEqual([])
        expect(await store.audit.tail({ keyId: 'key-a', limit: 0 })).toEqual([])
      })

      it('tail filters by keyId', async () => {
        const events = [
          auditEvent(1, { keyId: 'key-a' }),
          auditEvent(2, { keyId: 'key-b' }),
          auditEvent(3),
          auditEvent(4, { keyId: 'key-a', type: 'key.revoked' }),
          auditEvent(5, { keyId: 'key-a', type: 'request.allowed' }),
          auditEvent(6, { keyId: 'key-b' }),
        ]
        for (const event of events) await store.audit.write(event)
        expect(await store.audit.tail({ keyId: 'key-a', limit: 10 })).toEqual([
          events[0],
          events[3],
          events[4],
        ])
        expect(await store.audit.tail({ keyId: 'key-a', limit: 2 })).toEqual([events[3], events[4]])
        expect(await store.audit.tail({ keyId: 'key-b', limit: 10 })).toEqual([
          events[1],
          events[5],
        ])
        expect(await store.audit.tail({ keyId: 'key-c', limit: 10 })).toEqual([])
      })
    })

    describe('change feed (when the store has one)', () => {
      const changes: StoreChange[] = [
        { kind: 'key', keyId: 'apimw_test_k' },
        { kind: 'access_token', jti: 'j1' },
        { kind: 'signing_keys' },
      ]

      it('delivers what one connection publishes, in order, to a listener on every connection', async ({
        skip,
      }) => {
        if (!store.changes) skip()
        await connections(async (stores) => {
          const publisher = last(stores)
          const heard = stores.map((s) => nextChanges(s, changes.length))
          try {
            for (const s of stores) await untilSubscribed(s, publisher)
            for (const change of changes) await publisher.changes?.publish(change)
            for (const h of heard) expect(await h.changes).toEqual(changes)
          } finally {
            for (const h of heard) h.stop()
          }
        })
      })

      it('stop() ends delivery to that listener only, and may be called twice', async ({
        skip,
      }) => {
        if (!store.changes) skip()
        await connections(async (stores) => {
          const publisher = last(stores)
          const kept = nextChanges(store, changes.length)
          const stopped: StoreChange[] = []
          const stop = store.changes?.subscribe((change) => stopped.push(change))
          try {
            await untilSubscribed(store, publisher)
            stop?.()
            stop?.()
            stopped.length = 0
            for (const change of changes) await publisher.changes?.publish(change)
            // Both listeners would have heard each change at the same moment.
            expect(await kept.changes).toEqual(changes)
            expect(stopped).toEqual([])
          } finally {
            kept.stop()
            stop?.()
          }
        })
      })
    })

    describe('copies', () => {
      it('records returned by the store are copies', async () => {
        await store.keys.create(apiKey())
        const key = (await store.keys.get(apiKey().key))!
        key.scopes.push('admin')
        key.allowedIps.length = 0
        key.secrets[0]!.hash = 'sha256:tampered'
        key.metadata.team = 'tampered'
        key.revokedAt = NOW
        const [listed] = await store.keys.list()
        listed!.scopes.push('admin')
        expect(await store.keys.get(apiKey().key)).toEqual(apiKey())

        await store.signingKeys.activate(signingKey('k1'))
        const [signing] = await store.signingKeys.list()
        signing!.privateJwk.d = 'tampered'
        signing!.rotatedAt = NOW
        const active = await store.signingKeys.activate(signingKey('k2'))
        active.publicJwk.x = 'tampered'
        expect(await store.signingKeys.list()).toEqual([signingKey('k1')])

        await store.refreshTokens.create(refreshToken())
        const found = (await store.refreshTokens.find(refreshToken().hash))!
        found.scopes.push('admin')
        found.usedAt = NOW
        const rotation = await store.refreshTokens.rotate(refreshToken().hash, 'sha256:n', NOW + 1)
        if (rotation.outcome !== 'rotated')
          throw new Error(`expected rotated, got ${rotation.outcome}`)
        rotation.next.scopes.push('admin')
        rotation.previous.usedAt = null
        expect(await store.refreshTokens.find('sha256:n')).toMatchObject({
          scopes: refreshToken().scopes,
        })
        expect((await store.refreshTokens.find(refreshToken().hash))?.usedAt).toBe(NOW + 1)

        await store.counters.increment('c', 60, NOW)
        const counter = (await store.counters.get('c', NOW))!
        counter.count = 1000
        expect(await store.counters.get('c', NOW)).toEqual({ count: 1, resetAt: NOW + 60 })

        await store.audit.write(auditEvent(1, { details: { n: 1 } }))
        const [event] = await store.audit.tail({ limit: 1 })
        event!.details!.n = 2
        event!.type = 'key.revoked'
        expect(await store.audit.tail({ limit: 1 })).toEqual([auditEvent(1, { details: { n: 1 } })])
      })

      it('records given to the store are copied, not kept by reference', async () => {
        const key = apiKey()
        await store.keys.create(key)
        key.scopes.push('admin')
        key.metadata.team = 'tampered'
        expect(await store.keys.get(key.key)).toEqual(apiKey())

        const candidate = signingKey('k1')
        await store.signingKeys.activate(candidate)
        candidate.privateJwk.d = 'tampered'
        const next = signingKey('k2')
        await store.signingKeys.rotate(next, NOW, NOW + 10)
        next.publicJwk.x = 'tampered'
        expect((await store.signingKeys.list()).map((k) => k.privateJwk.d)).toEqual([
          'd-k2',
          'd-k1',
        ])
        expect((await store.signingKeys.list())[0]?.publicJwk.x).toBe('x-k2')

        const token = refreshToken()
        await store.refreshTokens.create(token)
        token.scopes.push('admin')
        expect(await store.refreshTokens.find(token.hash)).toEqual(refreshToken())

        const event = auditEvent(1, { details: { n: 1 } })
        await store.audit.write(event)
        event.details!.n = 2
        expect(await store.audit.tail({ limit: 1 })).toEqual([auditEvent(1, { details: { n: 1 } })])
      })
    })
  })
}
