/** ISO 8601 time of an epoch-seconds timestamp, or `null`. */
export function isoTime(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString()
}

/** A timestamp for a human: ISO 8601 to the second, or `-`. */
export function shortTime(seconds: number | null): string {
  return seconds === null ? '-' : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
}

/**
 * Text from the store made safe for a terminal: control characters (escape sequences, newlines)
 * become `?`, so a key name cannot rewrite the screen or forge an output line.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?')
}

/** Rows as aligned columns, two spaces apart; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, cell.length)
    })
  }
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  )
}

/** `label: value` lines with the values aligned. */
export function fields(entries: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...entries.map(([label]) => label.length)) + 1
  return entries.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`)
}

/** A list for a human: items separated by spaces, or `-` when empty. */
export function list(items: readonly string[]): string {
  return items.length === 0 ? '-' : printable(items.join(' '))
}
