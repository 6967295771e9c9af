import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isIpAllowed, parseAllowedIp } from '../src/policy/ip-allowlist.js'

// Reference arithmetic: addresses as unsigned integers (IPv4 as number, IPv6 as bigint).

const v4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
const mask4 = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0)
const inRange4 = (address: number, base: number, bits: number) =>
  (address & mask4(bits)) >>> 0 === (base & mask4(bits)) >>> 0

const ALL128 = (1n << 128n) - 1n
/** Full, uncompressed IPv6 text (8 groups). */
const v6 = (n: bigint) =>
  Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(
    ':',
  )
const mask6 = (bits: number) => (ALL128 << BigInt(128 - bits)) & ALL128
const inRange6 = (address: bigint, base: bigint, bits: number) =>
  (address & mask6(bits)) === (base & mask6(bits))

const u32 = fc.integer({ min: 0, max: 0xffffffff })
const u128 = fc.bigInt({ min: 0n, max: ALL128 })
/** Random IPv6 addresses, but not IPv4-mapped ones (those count as IPv4). */
const u128NotMapped = u128.filter((n) => n >> 32n !== 0xffffn)

/** An address inside `base/bits` (random host bits) and, unless bits is 0, one outside (a network bit flipped). */
const v4Case = fc
  .tuple(u32, fc.integer({ min: 0, max: 32 }), u32, fc.nat(31))
  .map(([base, bits, host, flip]) => {
    const inside = ((base & mask4(bits)) | (host & ~mask4(bits))) >>> 0
    const outside = bits === 0 ? undefined : (inside ^ (1 << (31 - (flip % bits)))) >>> 0
    return { base, bits, inside, outside }
  })

const v6Case = fc
  .tuple(u128NotMapped, fc.integer({ min: 0, max: 128 }), u128, fc.nat(127))
  .map(([base, bits, host, flip]) => {
    const inside = (base & mask6(bits)) | (host & ~mask6(bits) & ALL128)
    const outside = bits === 0 ? undefined : inside ^ (1n << BigInt(127 - (flip % bits)))
    return { base, bits, inside, outside }
  })

describe('isIpAllowed (IPv4)', () => {
  it('admits addresses inside a random CIDR and refuses those outside it', () => {
    fc.assert(
      fc.property(v4Case, ({ base, bits, inside, outside }) => {
        const cidr = `${v4(base)}/${bits}`
        expect(isIpAllowed(v4(inside), [cidr])).toBe(true)
        if (outside !== undefined) expect(isIpAllowed(v4(outside), [cidr])).toBe(false)
      }),
      { numRuns: 1000 },
    )
  })

  it('agrees with the reference for any address and CIDR', () => {
    fc.assert(
      fc.property(u32, u32, fc.integer({ min: 0, max: 32 }), (address, base, bits) => {
        expect(isIpAllowed(v4(address), [`${v4(base)}/${bits}`])).toBe(
          inRange4(address, base, bits),
        )
      }),
      { numRuns: 1000 },
    )
  })

  it('treats a bare address as a /32', () => {
    fc.assert(
      fc.property(u32, u32, (address, other) => {
        expect(isIpAllowed(v4(address), [v4(address)])).toBe(true)
        expect(isIpAllowed(v4(other), [v4(address)])).toBe(other === address)
      }),
      { numRuns: 300 },
    )
  })

  it('admits an address if any entry of a list holds it', () => {
    fc.assert(
      fc.property(
        u32,
        fc.array(fc.tuple(u32, fc.integer({ min: 0, max: 32 })), { maxLength: 5 }),
        (address, ranges) => {
          const allowed = ranges.map(([base, bits]) => `${v4(base)}/${bits}`)
          const expected =
            ranges.length === 0 || ranges.some(([base, bits]) => inRange4(address, base, bits))
          expect(isIpAllowed(v4(address), allowed)).toBe(expected)
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('isIpAllowed (IPv4-mapped IPv6)', () => {
  it('matches a mapped client address (::ffff:a.b.c.d) against IPv4 CIDRs', () => {
    fc.assert(
      fc.property(
        v4Case,
        fc.constantFrom('::ffff:', '::FFFF:', '0:0:0:0:0:ffff:'),
        ({ base, bits, inside, outside }, prefix) => {
          const cidr = `${v4(base)}/${bits}`
          expect(isIpAllowed(`${prefix}${v4(inside)}`, [cidr])).toBe(true)
          if (outside !== undefined)
            expect(isIpAllowed(`${prefix}${v4(outside)}`, [cidr])).toBe(false)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('matches a mapped client address written in hex groups (::ffff:c000:280)', () => {
    fc.assert(
      fc.property(v4Case, ({ base, bits, inside }) => {
        const hex = `::ffff:${(inside >>> 16).toString(16)}:${(inside & 0xffff).toString(16)}`
        expect(isIpAllowed(hex, [`${v4(base)}/${bits}`])).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it('matches IPv4 clients against a mapped CIDR (::ffff:a.b.c.d/96+n) as against a.b.c.d/n', () => {
    fc.assert(
      fc.property(u32, u32, fc.integer({ min: 0, max: 32 }), (address, base, bits) => {
        const mapped = `::ffff:${v4(base)}/${96 + bits}`
        const expected = inRange4(address, base, bits)
        expect(isIpAllowed(v4(address), [mapped])).toBe(expected)
        expect(isIpAllowed(`::ffff:${v4(address)}`, [mapped])).toBe(expected)
      }),
      { numRuns: 500 },
    )
  })

  it('matches a bare mapped allowlist entry exactly', () => {
    expect(isIpAllowed('203.0.113.7', ['::ffff:203.0.113.7'])).toBe(true)
    expect(isIpAllowed('203.0.113.8', ['::ffff:203.0.113.7'])).toBe(false)
    expect(isIpAllowed('::ffff:203.0.113.7', ['203.0.113.7'])).toBe(true)
  })
})

describe('isIpAllowed (IPv6)', () => {
  it('admits addresses inside a random IPv6 CIDR and refuses those outside it', () => {
    fc.assert(
      fc.property(v6Case, ({ base, bits, inside, outside }) => {
        const cidr = `${v6(base)}/${bits}`
        if (inside >> 32n !== 0xffffn) expect(isIpAllowed(v6(inside), [cidr])).toBe(true)
        if (outside !== undefined && outside >> 32n !== 0xffffn) {
          expect(isIpAllowed(v6(outside), [cidr])).toBe(false)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('agrees with the reference for any address and CIDR, in full or compressed notation', () => {
    fc.assert(
      fc.property(
        u128NotMapped,
        u128NotMapped,
        fc.integer({ min: 0, max: 128 }),
        (address, base, bits) => {
          const compressed = v6(address).replace(/(^|:)0(:0)+(:|$)/, '::')
          const expected = inRange6(address, base, bits)
          expect(isIpAllowed(v6(address), [`${v6(base)}/${bits}`])).toBe(expected)
          expect(isIpAllowed(compressed, [`${v6(base)}/${bits}`])).toBe(expected)
          expect(isIpAllowed(v6(address).toUpperCase(), [`${v6(base)}/${bits}`])).toBe(expected)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('never matches IPv6 clients against IPv4 entries, nor IPv4 clients against non-mapped IPv6 entries', () => {
    fc.assert(
      fc.property(
        u128NotMapped,
        u32,
        fc.integer({ min: 0, max: 32 }),
        (address6, address4, bits) => {
          expect(isIpAllowed(v6(address6), [`${v4(address4)}/${bits}`])).toBe(false)
          expect(isIpAllowed(v4(address4), [`${v6(address6)}/128`])).toBe(false)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('isIpAllowed (edge cases)', () => {
  it('admits anyone with an empty allowlist, and no one without a known address otherwise', () => {
    expect(isIpAllowed(undefined, [])).toBe(true)
    expect(isIpAllowed('203.0.113.7', [])).toBe(true)
    expect(isIpAllowed(undefined, ['0.0.0.0/0'])).toBe(false)
  })

  it('never throws for garbage client addresses or entries, and admits no garbage address', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
        (ip, entries) => {
          const allowed = isIpAllowed(ip, ['0.0.0.0/0', '::/0', ...entries])
          expect(typeof allowed).toBe('boolean')
          expect(() => isIpAllowed(ip, entries)).not.toThrow()
        },
      ),
      { numRuns: 500 },
    )
    expect(isIpAllowed('not-an-ip', ['0.0.0.0/0', '::/0'])).toBe(false)
    expect(isIpAllowed('203.0.113.7', ['not-a-cidr', '203.0.113.0/24'])).toBe(true)
  })

  it('parseAllowedIp refuses anything that is not an address or CIDR with a TypeError', () => {
    for (const entry of [
      '',
      'x',
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '/8',
      '1.2.3.4.5',
      '2001:db8::/x',
    ]) {
      expect(() => parseAllowedIp(entry), entry).toThrow(TypeError)
    }
    fc.assert(
      fc.property(v4Case, v6Case, (a, b) => {
        expect(() => parseAllowedIp(`${v4(a.base)}/${a.bits}`)).not.toThrow()
        expect(() => parseAllowedIp(`${v6(b.base)}/${b.bits}`)).not.toThrow()
      }),
      { numRuns: 200 },
    )
  })
})
