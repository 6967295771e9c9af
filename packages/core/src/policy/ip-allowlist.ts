import ipaddr from 'ipaddr.js'

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

/** Parses an allowlist entry (an address or a CIDR, IPv4 or IPv6); throws `TypeError` if invalid. */
export function parseAllowedIp(entry: string): Range {
  try {
    if (entry.includes('/')) return normalize(ipaddr.parseCIDR(entry))
    const address = ipaddr.process(entry)
    return [address, address.kind() === 'ipv4' ? 32 : 128]
  } catch {
    throw new TypeError(`"${entry.slice(0, 60)}" is not an IP address or CIDR range`)
  }
}

/** An IPv4-mapped IPv6 range (::ffff:a.b.c.d/n) matches the same IPv4 clients as a.b.c.d/(n-96). */
function normalize([address, bits]: Range): Range {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96]
  }
  return [address, bits]
}

/** True if the allowlist is empty or `ip` falls in one of its entries. IPv4-mapped IPv6 matches IPv4. */
export function isIpAllowed(ip: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true
  if (ip === undefined || !ipaddr.isValid(ip)) return false
  const address = ipaddr.process(ip)
  return allowed.some((entry) => {
    try {
      const [range, bits] = parseAllowedIp(entry)
      return address.kind() === range.kind() && address.match(range, bits)
    } catch {
      return false
    }
  })
}
