import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidRequestError, PayloadTooLargeError } from '../src/errors.js'
import { findDuplicateTopLevelKey } from '../src/wire/json-duplicate-key.js'
import { BODY_LIMIT, parseParameters } from '../src/wire/parse-parameters.js'

const FORM = 'application/x-www-form-urlencoded'
const JSON_TYPE = 'application/json'
const raw = (text: string | Uint8Array) => ({
  raw: typeof text === 'string' ? new TextEncoder().encode(text) : text,
})

/** JSON whitespace, as a serializer or a hand-written body may put it between tokens. */
const ws = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), maxLength: 2 })

/** A member name: often one of a few (so duplicates happen), sometimes any string. */
const memberName = fc.oneof(
  fc.constantFrom('a', 'b', 'api_key', 'api_secret', 'é', '"', '\\', '__proto__', ''),
  fc.string({ unit: 'binary', maxLength: 8 }),
)

/** `name` as a JSON string literal, each code unit written plainly or as a \uXXXX escape. */
const encodedName = (name: string) =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((escapes) => {
    let out = '"'
    for (let i = 0; i < name.length; i++) {
      const unit = name.charCodeAt(i)
      out += escapes[i]
        ? `\\u${unit.toString(16).padStart(4, '0')}`
        : JSON.stringify(name[i]).slice(1, -1)
    }
    return `${out}"`
  })

const member = memberName.chain((name) =>
  fc
    .tuple(encodedName(name), fc.jsonValue({ maxDepth: 3 }), ws, ws, ws)
    .map(([encoded, value, w1, w2, w3]) => ({
      name,
      text: `${w1}${encoded}${w2}:${w3}${JSON.stringify(value, null, w1.length > 0 ? 1 : 0)}`,
    })),
)

/** The first name whose second occurrence comes first, reading left to right. */
function referenceDuplicate(names: readonly string[]): string | undefined {
  const seen = new Set<string>()
  for (const name of names) {
    if (seen.has(name)) return name
    seen.add(name)
  }
  return undefined
}

describe('findDuplicateTopLevelKey', () => {
  it('agrees with a reference on random JSON objects, escaped names and nested values included', () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 8 }), ws, ws, (members, before, after) => {
        const text = `${before}{${members.map((m) => m.text).join(',')}}${after}`
        expect(() => JSON.parse(text)).not.toThrow()
        expect(findDuplicateTopLevelKey(text)).toBe(referenceDuplicate(members.map((m) => m.name)))
      }),
      { numRuns: 500 },
    )
  })

  it('finds nothing in what JSON.stringify writes (it cannot repeat a member)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        expect(findDuplicateTopLevelKey(JSON.stringify(value))).toBeUndefined()
      }),
      { numRuns: 300 },
    )
  })

  it('ignores names repeated inside nested objects and arrays', () => {
    expect(findDuplicateTopLevelKey('{"a":{"b":1,"b":2},"c":[{"d":1,"d":2}]}')).toBeUndefined()
    expect(findDuplicateTopLevelKey('[{"a":1,"a":2}]')).toBeUndefined()
    expect(findDuplicateTopLevelKey('{"a":{"a":1},"a":2}')).toBe('a')
  })

  it('treats a name and its escaped spelling as the same member', () => {
    expect(findDuplicateTopLevelKey('{"api_key":"x","api\\u005fkey":"y"}')).toBe('api_key')
    expect(findDuplicateTopLevelKey('{"\\"":1,"\\u0022":2}')).toBe('"')
  })

  it('is not fooled by braces, commas and quotes inside string values', () => {
    expect(findDuplicateTopLevelKey('{"a":"},\\"a\\":{","b":"{\\"b\\":1}"}')).toBeUndefined()
    expect(findDuplicateTopLevelKey('{"a":"\\\\","a":1}')).toBe('a')
  })
})

describe('parseParameters', () => {
  const params = fc.uniqueArray(
    fc.tuple(memberName, fc.string({ unit: 'binary', maxLength: 20 })),
    {
      selector: ([name]) => name,
      maxLength: 6,
    },
  )

  it('reads back every string parameter of a JSON object', () => {
    fc.assert(
      fc.property(params, (entries) => {
        const text = `{${entries.map(([n, v]) => `${JSON.stringify(n)}:${JSON.stringify(v)}`).join(',')}}`
        const parsed = parseParameters(raw(text), JSON_TYPE)
        expect({ ...parsed }).toEqual(Object.fromEntries(entries))
        expect(Object.keys(parsed)).toEqual(Object.keys(Object.fromEntries(entries)))
      }),
      { numRuns: 300 },
    )
  })

  it('reads back every parameter of a form body', () => {
    fc.assert(
      fc.property(params, (entries) => {
        const text = new URLSearchParams(entries).toString()
        const parsed = parseParameters(raw(text), `${FORM}; charset=UTF-8`)
        expect(new Map(Object.entries(parsed))).toEqual(new Map(entries))
      }),
      { numRuns: 300 },
    )
  })

  it('refuses any parameter given twice, in a form or a JSON object', () => {
    fc.assert(
      fc.property(params, memberName, fc.string(), fc.string(), (entries, name, first, second) => {
        const list: [string, string][] = [
          ...entries.filter(([n]) => n !== name),
          [name, first],
          [name, second],
        ]
        const formText = new URLSearchParams(list).toString()
        expect(() => parseParameters(raw(formText), FORM)).toThrow(InvalidRequestError)
        const jsonText = `{${list.map(([n, v]) => `${JSON.stringify(n)}:${JSON.stringify(v)}`).join(',')}}`
        expect(() => parseParameters(raw(jsonText), JSON_TYPE)).toThrow(InvalidRequestError)
      }),
      { numRuns: 300 },
    )
  })

  it('refuses a parameter of any JSON type but string', () => {
    const notString = fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'string')
    fc.assert(
      fc.property(memberName, notString, (name, value) => {
        const text = `{${JSON.stringify(name)}:${JSON.stringify(value)}}`
        expect(() => parseParameters(raw(text), JSON_TYPE)).toThrow(InvalidRequestError)
      }),
      { numRuns: 200 },
    )
  })

  it('throws nothing but InvalidRequestError for random bytes under any content type', () => {
    const contentType = fc.option(
      fc.oneof(
        fc.constantFrom(JSON_TYPE, FORM, 'text/plain', 'APPLICATION/JSON;charset=utf-8', ';', ''),
        fc.string({ maxLength: 40 }),
      ),
      { nil: undefined },
    )
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.json().map((t) => new TextEncoder().encode(t)),
      fc.string({ unit: 'binary', maxLength: 200 }).map((t) => new TextEncoder().encode(t)),
    )
    fc.assert(
      fc.property(body, contentType, (bytes, type) => {
        try {
          const parsed = parseParameters(raw(bytes), type)
          for (const value of Object.values(parsed)) expect(typeof value).toBe('string')
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidRequestError)
          expect((error as InvalidRequestError).code).toBe('invalid_request')
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('accepts an empty body whatever the content type, and refuses more than 16 KiB with 413', () => {
    expect({ ...parseParameters(raw(''), undefined) }).toEqual({})
    expect({ ...parseParameters(raw(''), 'text/plain') }).toEqual({})
    const over = new Uint8Array(BODY_LIMIT + 1).fill(0x61)
    for (const type of [JSON_TYPE, FORM, undefined]) {
      let thrown: unknown
      try {
        parseParameters(raw(over), type)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(PayloadTooLargeError)
      expect(thrown).toMatchObject({ code: 'invalid_request', status: 413 })
    }
    const exact = `a=${'x'.repeat(BODY_LIMIT - 2)}`
    expect(parseParameters(raw(exact), FORM).a).toHaveLength(BODY_LIMIT - 2)
  })

  it('refuses a pre-parsed body holding a repeated or non-string parameter', () => {
    expect({ ...parseParameters({ parsed: { a: 'x' } }, undefined) }).toEqual({ a: 'x' })
    expect({ ...parseParameters({ parsed: undefined }, undefined) }).toEqual({})
    expect(() => parseParameters({ parsed: { a: ['x', 'y'] } }, undefined)).toThrow(
      InvalidRequestError,
    )
    expect(() => parseParameters({ parsed: { a: 1 } }, undefined)).toThrow(InvalidRequestError)
    expect(() => parseParameters({ parsed: 'a=x' }, undefined)).toThrow(InvalidRequestError)
  })
})
