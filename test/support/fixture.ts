import type { RequestListener } from 'node:http'
import type { Apimw, ApimwOptions, ApimwStore, AuditEvent, CreateKeyInput } from '@apimw/core'
import { createApimw, createMemoryStore } from '@apimw/core'
import request from 'supertest'

/** A clock the test moves by hand: no sleeps, no fake timers. */
export interface TestClock {
  (): Date
  advance(seconds: number): void
  /** Whole seconds since the epoch. */
  seconds(): number
}

export function testClock(start = '2026-01-01T00:00:00Z'): TestClock {
  let now = new Date(start).getTime()
  const clock = (() => new Date(now)) as TestClock
  clock.advance = (seconds) => {
    now += seconds * 1000
  }
  clock.seconds = () => Math.floor(now / 1000)
  return clock
}

export type Listener = (apimw: Apimw) => RequestListener

export interface Fixture {
  apimw: Apimw
  store: ApimwStore
  clock: TestClock
  /** A supertest client for the adapter's app; each call makes a fresh request builder. */
  http: () => ReturnType<typeof request>
  /** Creates a key (default: test env, scopes orders:read orders:write) and returns key + secret. */
  createKey(input?: Partial<CreateKeyInput>): Promise<{ key: string; secret: string }>
  /** Trades the key for tokens through the wire and returns the body. */
  token(credential: { key: string; secret: string }, scope?: string): Promise<TokenBody>
  /** Every audit event written so far. */
  auditEvents(): Promise<AuditEvent[]>
}

export interface TokenBody {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token?: string
  scope: string
}

export function createFixture(listener: Listener, options: ApimwOptions = {}): Fixture {
  const clock = testClock()
  const store = options.store ?? createMemoryStore()
  const apimw = createApimw({ clock, ...options, store })
  const app = listener(apimw)
  const http = () => request(app)
  return {
    apimw,
    store,
    clock,
    http,
    async createKey(input = {}) {
      const { record, secret } = await apimw.keys.create({
        name: 'test key',
        scopes: ['orders:read', 'orders:write'],
        ...input,
      })
      return { key: record.key, secret }
    },
    async token(credential, scope) {
      const res = await http()
        .post('/auth/token')
        .send({
          grant_type: 'client_credentials',
          api_key: credential.key,
          api_secret: credential.secret,
          ...(scope ? { scope } : {}),
        })
      if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`)
      return res.body as TokenBody
    },
    auditEvents: () => store.audit.tail({ limit: 10_000 }),
  }
}
