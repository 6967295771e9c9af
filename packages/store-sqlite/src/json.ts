/** Serialises an array or object for a JSON (TEXT) column. */
export function toJson(value: unknown): string {
  return JSON.stringify(value)
}

/** Reads back a JSON column written by {@link toJson}; the schema's CHECK keeps it valid JSON. */
export function fromJson<T>(text: string): T {
  const value: unknown = JSON.parse(text)
  return value as T
}
