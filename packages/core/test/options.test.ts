import { describe, expect, it } from 'vitest'
import { configFromEnv } from '../src/config-from-env.js'
import { resolveOptions } from '../src/options.js'

describe('resolveOptions', () => {
  it('fills in the contract defaults', () => {
    const o = resolveOptions()
    expect(o).toMatchObject({
      basePath: '/auth',
      issuer: 'apimw',
      audience: 'apimw-api',
      environment: 'test',
      accessTokenTtl: 3600,
      refreshTokenTtl: 2_592_000,
      refreshTokens: true,
      algorithms: ['ES256'],
      clockTolerance: 5,
      cacheTtl: 5,
      requireHttps: false,
      trust: undefined,
    })
    expect(Object.isFrozen(o)).toBe(true)
  })

  it('requires HTTPS by default in live', () => {
    expect(resolveOptions({ environment: 'live' }).requireHttps).toBe(true)
    expect(resolveOptions({ environment: 'live', requireHttps: false }).requireHttps).toBe(false)
  })

  it.each([
    [{ accessTokenTtl: 0 }, '"accessTokenTtl" must be a positive integer'],
    [{ accessTokenTtl: 1.5 }, '"accessTokenTtl" must be a positive integer'],
    [{ refreshTokenTtl: -1 }, '"refreshTokenTtl" must be a positive integer'],
    [{ clockTolerance: -1 }, '"clockTolerance" must be an integer >= 0'],
    [{ environment: 'prod' as 'live' }, '"environment" must be "test" or "live"'],
    [{ algorithms: ['none' as 'ES256'] }, '"algorithms" must be a non-empty list'],
    [{ algorithms: [] }, '"algorithms" must be a non-empty list'],
    [{ basePath: 'auth' }, '"basePath" must start with "/"'],
    [{ basePath: '/auth/' }, '"basePath" must start with "/"'],
    [{ issuer: '' }, '"issuer" must be a non-empty string'],
    [{ trustProxy: 'not-an-address' }, '"trustProxy" is not valid'],
    [{ trustProxy: -2 }, '"trustProxy" as a number must be a hop count'],
    [{ rateLimit: { maxFailures: 0 } }, '"rateLimit.maxFailures" must be a positive integer'],
  ])('throws a TypeError naming the option for %j', (options, message) => {
    expect(() => resolveOptions(options)).toThrow(TypeError)
    expect(() => resolveOptions(options)).toThrow(message)
  })
})

describe('configFromEnv', () => {
  it('reads the contract defaults from an empty environment', () => {
    expect(configFromEnv({})).toEqual({
      store: 'sqlite:.apimw/apimw.db',
      port: 3000,
      options: {
        environment: 'test',
        issuer: 'apimw',
        audience: 'apimw-api',
        accessTokenTtl: 3600,
        refreshTokenTtl: 2_592_000,
        requireHttps: false,
      },
    })
  })

  it('is live with HTTPS required under NODE_ENV=production', () => {
    expect(configFromEnv({ NODE_ENV: 'production' }).options).toMatchObject({
      environment: 'live',
      requireHttps: true,
    })
    expect(configFromEnv({ NODE_ENV: 'production', APIMW_ENV: 'test' }).options.environment).toBe(
      'test',
    )
  })

  it('reads every variable', () => {
    const config = configFromEnv({
      APIMW_STORE: 'memory:',
      APIMW_ENV: 'live',
      APIMW_ISSUER: 'https://auth.example',
      APIMW_AUDIENCE: 'orders',
      APIMW_ACCESS_TOKEN_TTL: '600',
      APIMW_REFRESH_TOKEN_TTL: '86400',
      APIMW_REQUIRE_HTTPS: '0',
      APIMW_TRUST_PROXY: 'loopback, 10.0.0.0/8',
      PORT: '8080',
    })
    expect(config).toEqual({
      store: 'memory:',
      port: 8080,
      options: {
        environment: 'live',
        issuer: 'https://auth.example',
        audience: 'orders',
        accessTokenTtl: 600,
        refreshTokenTtl: 86400,
        requireHttps: false,
        trustProxy: 'loopback, 10.0.0.0/8',
      },
    })
    expect(configFromEnv({ APIMW_TRUST_PROXY: '2' }).options.trustProxy).toBe(2)
    expect(configFromEnv({ APIMW_TOKEN_STORE: 'redis://127.0.0.1:6379' }).tokenStore).toBe(
      'redis://127.0.0.1:6379',
    )
    expect(configFromEnv({ APIMW_TRUST_PROXY: 'true' }).options.trustProxy).toBe(true)
  })

  it.each([
    [{ APIMW_ENV: 'prod' }, 'APIMW_ENV'],
    [{ APIMW_ACCESS_TOKEN_TTL: '1h' }, 'APIMW_ACCESS_TOKEN_TTL'],
    [{ APIMW_REFRESH_TOKEN_TTL: '0' }, 'APIMW_REFRESH_TOKEN_TTL'],
    [{ APIMW_REQUIRE_HTTPS: 'yes' }, 'APIMW_REQUIRE_HTTPS'],
    [{ PORT: '70000' }, 'PORT'],
  ])('refuses %j naming the variable', (env, name) => {
    expect(() => configFromEnv(env)).toThrow(name)
  })
})

describe('default onError', () => {
  it('prints the error name and message, with any connection-string password masked', () => {
    const lines: string[] = []
    const original = console.error
    console.error = (line: string) => lines.push(line)
    try {
      resolveOptions().onError(new Error('connect to postgres://app:s3cr3t@db:5432/x refused'))
    } finally {
      console.error = original
    }
    expect(lines).toEqual(['apimw: Error: connect to postgres://app:***@db:5432/x refused'])
  })
})

describe('pepper', () => {
  it('refuses a short pepper and never shows one on the instance', async () => {
    const { createApimw } = await import('../src/create-apimw.js')
    expect(() => resolveOptions({ pepper: 'short' })).toThrow(
      '"pepper" must be a string of at least 16',
    )
    const apimw = createApimw({ pepper: 'a-long-server-side-pepper' })
    expect(apimw.options).not.toHaveProperty('pepper')
    expect(JSON.stringify(apimw.options)).not.toContain('a-long-server-side-pepper')
    expect(Object.isFrozen(apimw.options)).toBe(true)
  })
})
