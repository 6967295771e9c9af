/**
 * The first member name that occurs twice in the top-level object of `text`, or `undefined`.
 * `text` must be valid JSON (check with `JSON.parse` first): this only walks its structure. Names
 * are compared after unescaping, so `"a"` and `"\u0061"` are the same member.
 */
export function findDuplicateTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>()
  let depth = 0
  let expectKey = false
  let topIsObject = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === '"') {
      const end = endOfString(text, i)
      if (depth === 1 && expectKey) {
        const name = JSON.parse(text.slice(i, end + 1)) as string
        if (seen.has(name)) return name
        seen.add(name)
        expectKey = false
      }
      i = end
    } else if (char === '{' || char === '[') {
      depth++
      if (depth === 1) topIsObject = char === '{'
      expectKey = depth === 1 && topIsObject
    } else if (char === '}' || char === ']') {
      depth--
    } else if (char === ',' && depth === 1) {
      expectKey = topIsObject
    }
  }
  return undefined
}

function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++
    else if (text[i] === '"') return i
  }
  return text.length - 1
}
