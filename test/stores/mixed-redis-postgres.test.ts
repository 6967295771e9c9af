/**
 * A mixed setup through the API alone (the README's example): keys, signing keys and audit in
 * PostgreSQL; refresh tokens, revocations, rate-limit counters and the change feed in Redis. It is
 * an object spread of two stores. It passes the shared store suite, and a token / refresh / revoke
 * flow over the wire, with each kind of state landing where the setup says.
 */
import { randomBytes } from 'node:crypto'
import type { ApimwStore } from '@apimw/core'
import { createApimw } from '@apimw/core'
import { apimwAuth, requireBearer } from '@apimw/express'
import type { PostgresStore } from '@apimw/store-postgres'
import { createPostgresStore } from '@apimw/store-postgres'
import type { RedisStore } from '@apimw/store-redis'
import { createRedisStore } from '@apimw/store-redis'
import express from 'express'
import { Redis } from 'ioredis'
import pg from 'pg'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { deleteKeys, keysUnder } from '../../packages/store-redis/test/redis-clients.js'
import { testClock } from '../support/fixture.js'
import { defineStoreSuite } from './define-store-suite.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** The README's mixed store. */
function mixedStore(postgres: PostgresStore, redis: RedisStore): ApimwStore {
  return {
    ...redis, // refreshTokens, revocations, counters, changes
    keys: postgres.keys,
    signingKeys: postgres.signingKeys,
    audit: postgres.audit,
    async close() {
      await postgres.close()
      await redis.close()
    },
  }
}

interface Mixed {
  store: ApimwStore
  schema: string
  prefix: string
  pool: pg.Pool
  client: Redis
  cleanup(): Promise<void>
}

async function openMixed(): Promise<Mixed> {
  const schema = `apimw_mixed_${randomBytes(6).toString('hex')}`
  const prefix = `apimw-mixed:${randomBytes(6).toString('hex')}:`
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 5 })
  const client = new Redis(REDIS_URL)
  const store = mixedStore(
    createPostgresStore({ pool, schema }),
    createRedisStore({ client, keyPrefix: prefix }),
  )
  return {
    store,
    schema,
    prefix,
    pool,
    client,
    async cleanup() {
      try {
        await store.close?.()
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
        await deleteKeys(client, prefix)
      } finally {
        await pool.end()
        await client.quit()
      }
    },
  }
}

// Refresh tokens are in Redis: each rotate() is one Lua script.
defineStoreSuite('mixed store (PostgreSQL + Redis)', openMixed, { serialisedRotate: true })

describe('mixed store (PostgreSQL + Redis) under Express', () => {
  let mixed: Mixed | undefined

  afterEach(async () => {
    await mixed?.cleanup()
    mixed = undefined
  })

  it('serves a token / refresh / revoke flow, each kind of state where the setup puts it', async () => {
    mixed = await openMixed()
    const apimw = createApimw({ store: mixed.store, clock: testClock() })
    const app = express()
    app.use(apimwAuth(apimw))
    app.get('/v1/orders', requireBearer({ scopes: ['orders:read'] }), (req, res) => {
      res.json({ keyId: req.auth?.keyId })
    })
    const { record, secret } = await apimw.keys.create({ name: 'k', scopes: ['orders:read'] })

    const first = await request(app)
      .post('/auth/token')
      .send({ api_key: record.key, api_secret: secret })
      .expect(200)
    await request(app)
      .get('/v1/orders')
      .set('authorization', `Bearer ${first.body.access_token}`)
      .expect(200)
    const second = await request(app)
      .post('/auth/refresh')
      .send({ refresh_token: first.body.refresh_token })
      .expect(200)
    await request(app).post('/auth/revoke').send({ token: second.body.access_token }).expect(200)
    await request(app)
      .get('/v1/orders')
      .set('authorization', `Bearer ${second.body.access_token}`)
      .expect(401)
    await request(app)
      .post('/auth/revoke')
      .send({ token: second.body.refresh_token, token_type_hint: 'refresh_token' })
      .expect(200)
    const afterRevoke = await request(app)
      .post('/auth/refresh')
      .send({ refresh_token: second.body.refresh_token })
    expect(afterRevoke.status).toBe(400)
    expect(afterRevoke.body.error).toBe('invalid_grant')
    await request(app)
      .post('/auth/token')
      .send({ api_key: record.key, api_secret: 'wrong' })
      .expect(401)
    await apimw.close()

    // PostgreSQL: the key, the signing key and the audit trail; no refresh token, revocation or counter.
    const count = async (table: string) =>
      Number(
        (await mixed?.pool.query(`SELECT count(*) AS n FROM "${mixed.schema}".${table}`))?.rows[0]
          ?.n,
      )
    expect(await count('api_keys')).toBe(1)
    expect(await count('signing_keys')).toBe(1)
    expect(await count('audit_events')).toBeGreaterThan(0)
    expect(await count('refresh_tokens')).toBe(0)
    expect(await count('revoked_tokens')).toBe(0)
    expect(await count('counters')).toBe(0)
    const types = (await mixed.store.audit.tail({ keyId: record.key, limit: 50 })).map(
      (e) => e.type,
    )
    expect(types).toEqual(
      expect.arrayContaining(['key.created', 'token.issued', 'token.refreshed', 'token.revoked']),
    )

    // Redis: refresh tokens and families, the revoked jti, the failure counters; no key or audit.
    const { client, prefix } = mixed
    const kinds = new Set(
      (await keysUnder(client, prefix)).map((key) => key.slice(prefix.length).split(':')[0]),
    )
    expect([...kinds].sort()).toEqual(['counter', 'revoked', 'rt', 'rtfamily'])
  })
})
