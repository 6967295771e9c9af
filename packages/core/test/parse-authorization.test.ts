import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidRequestError, isApimwError, UnauthorizedError } from '../src/errors.js'
import { parseBasic, parseBearer } from '../src/wire/parse-authorization.js'

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64')
/** What OAuth client libraries send: application/x-www-form-urlencoded, space as "+". */
const formEncode = (text: string) => new URLSearchParams({ v: text }).toString().slice(2)

const anyText = fc.string({ unit: 'binary', maxLength: 60 })
const base62 = fc.string({
  unit: fc.constantFrom(
    ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'.split(''),
  ),
  minLength: 20,
  maxLength: 40,
})
const base64urlSecret = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('base64url'))
/** Any header value a client can send (HTTP field-value characters). */
const headerValue = fc.string({
  unit: fc
    .oneof(
      fc.integer({ min: 0x20, max: 0x7e }),
      fc.integer({ min: 0x80, max: 0xff }),
      fc.constant(0x09),
    )
    .map((code) => String.fromCharCode(code)),
  maxLength: 120,
})
const token68Char = fc.constantFrom(...'ABCXYZabcxyz0189-._~+/'.split(''))
const token68 = fc
  .tuple(
    fc.string({ unit: token68Char, minLength: 1, maxLength: 200 }),
    fc.string({ unit: fc.constant('='), maxLength: 2 }),
  )
  .map(([body, padding]) => `${body}${padding}`)

/** Runs `parse` and checks that it either answers or throws an APIMW error (never anything else). */
function outcome<T>(parse: () => T): { value: T } | { error: unknown } {
  try {
    return { value: parse() }
  } catch (error) {
    expect(isApimwError(error)).toBe(true)
    return { error }
  }
}

describe('parseBasic', () => {
  it('round-trips any key and secret percent-encoded (encodeURIComponent) and base64-encoded', () => {
    fc.assert(
      fc.property(anyText, anyText, (user, password) => {
        const header = `Basic ${base64(`${encodeURIComponent(user)}:${encodeURIComponent(password)}`)}`
        expect(parseBasic(header)).toEqual({ user, password })
      }),
      { numRuns: 500 },
    )
  })

  it('round-trips any key and secret form-encoded as OAuth clients do (space as "+")', () => {
    fc.assert(
      fc.property(anyText, anyText, (user, password) => {
        const header = `Basic ${base64(`${formEncode(user)}:${formEncode(password)}`)}`
        expect(parseBasic(header)).toEqual({ user, password })
      }),
      { numRuns: 500 },
    )
  })

  it('reads real key ids and base64url secrets sent without any encoding', () => {
    fc.assert(
      fc.property(fc.constantFrom('test', 'live'), base62, base64urlSecret, (env, id, secret) => {
        const key = `apimw_${env}_${id}`
        expect(parseBasic(`Basic ${base64(`${key}:${secret}`)}`)).toEqual({
          user: key,
          password: secret,
        })
        expect(parseBasic(`basic  ${base64(`${key}:${secret}`)} `)).toEqual({
          user: key,
          password: secret,
        })
      }),
      { numRuns: 200 },
    )
  })

  it('splits at the first colon: a password may hold colons, a user only an encoded one', () => {
    expect(parseBasic(`Basic ${base64('a:b:c')}`)).toEqual({ user: 'a', password: 'b:c' })
    expect(parseBasic(`Basic ${base64('a%3Ab:c')}`)).toEqual({ user: 'a:b', password: 'c' })
  })

  it('answers undefined without a header and invalid_request for anything malformed', () => {
    expect(parseBasic(undefined)).toBeUndefined()
    for (const header of [
      '',
      'Basic',
      'Basic ',
      'Bearer abc',
      `Basic ${base64('no colon')}`,
      `Basic ${base64('bad%ZZ:x')}`,
      `Basic ${base64('a:%E0%A4%A')}`,
      'Basic A',
      'Basic ====',
      `Basic ${Buffer.from([0x61, 0x3a, 0xff]).toString('base64')}`,
    ]) {
      expect(() => parseBasic(header), header).toThrow(InvalidRequestError)
    }
  })

  it('never throws anything but an APIMW error for garbage, and what it returns is decoded text', () => {
    const garbage = fc.oneof(
      headerValue,
      headerValue.map((v) => `Basic ${v}`),
      fc.uint8Array({ maxLength: 60 }).map((b) => `Basic ${Buffer.from(b).toString('base64')}`),
      fc
        .tuple(headerValue, headerValue)
        .map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`, 'latin1').toString('base64')}`),
    )
    fc.assert(
      fc.property(garbage, (header) => {
        const result = outcome(() => parseBasic(header))
        if ('value' in result) {
          expect(typeof result.value?.user).toBe('string')
          expect(typeof result.value?.password).toBe('string')
        } else {
          expect(result.error).toBeInstanceOf(InvalidRequestError)
        }
      }),
      { numRuns: 1000 },
    )
  })
})

describe('parseBearer', () => {
  it('returns any token68 value, whatever the case of the scheme and the spacing around it', () => {
    fc.assert(
      fc.property(
        token68,
        fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR'),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom('', ' ', '\t'),
        (token, scheme, spaces, trailing) => {
          expect(parseBearer(`${scheme}${' '.repeat(spaces)}${token}${trailing}`)).toBe(token)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('answers unauthorized without a header and invalid_request for an empty, foreign or oversized one', () => {
    expect(() => parseBearer(undefined)).toThrow(UnauthorizedError)
    for (const header of [
      '',
      'Bearer',
      'Bearer ',
      'Bearer a b',
      'Basic abc',
      'Bearerabc',
      `Bearer ${'a'.repeat(8193)}`,
      'Bearer a=b',
      'Bearer ä',
    ]) {
      expect(() => parseBearer(header), header).toThrow(InvalidRequestError)
    }
    expect(parseBearer(`Bearer ${'a'.repeat(8192)}`)).toHaveLength(8192)
  })

  it('never throws anything but invalid_request for garbage, and returns only token68 values', () => {
    const garbage = fc.oneof(
      headerValue,
      headerValue.map((v) => `Bearer ${v}`),
      fc.tuple(token68, headerValue).map(([t, v]) => `Bearer ${t}${v}`),
    )
    fc.assert(
      fc.property(garbage, (header) => {
        const result = outcome(() => parseBearer(header))
        if ('value' in result) {
          expect(result.value).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/)
          expect(result.value.length).toBeLessThanOrEqual(8192)
          expect(header.toLowerCase().startsWith('bearer ')).toBe(true)
        } else {
          expect(result.error).toBeInstanceOf(InvalidRequestError)
        }
      }),
      { numRuns: 1000 },
    )
  })
})
