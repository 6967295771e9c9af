import type { StoreChange } from './types.js'

/**
 * The text a change feed carries between processes (Redis pub/sub message, PostgreSQL NOTIFY
 * payload): JSON holding only the fields of the change.
 *
 * @example
 * await redis.publish(channel, serializeStoreChange({ kind: 'key', keyId }))
 */
export function serializeStoreChange(change: StoreChange): string {
  switch (change.kind) {
    case 'key':
      return JSON.stringify({ kind: change.kind, keyId: change.keyId })
    case 'access_token':
      return JSON.stringify({ kind: change.kind, jti: change.jti })
    default:
      return JSON.stringify({ kind: change.kind })
  }
}

/**
 * Reads a change published by another process, or `undefined` when the text is not one (anyone
 * who can publish on the channel can send anything: it is checked like any untrusted input).
 *
 * @example
 * const change = parseStoreChange(message)
 * if (change) for (const listener of listeners) listener(change)
 */
export function parseStoreChange(text: string): StoreChange | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { kind, keyId, jti } = value as Record<string, unknown>
  if (kind === 'key' && typeof keyId === 'string') return { kind, keyId }
  if (kind === 'access_token' && typeof jti === 'string') return { kind, jti }
  if (kind === 'signing_keys') return { kind }
  return undefined
}

/**
 * Hands a message received from a change feed to every listener: a malformed message and a
 * listener that throws go to `onError`, and never stop the others. `source` names the channel in
 * the error.
 *
 * @example
 * subscriber.on('message', (_channel, message) => deliverStoreChange(message, listeners, onError, channel))
 */
export function deliverStoreChange(
  message: string,
  listeners: Iterable<(change: StoreChange) => void>,
  onError: (error: unknown) => void,
  source: string,
): void {
  const change = parseStoreChange(message)
  if (!change) {
    onError(new Error(`ignored a malformed change message on ${source}`))
    return
  }
  for (const listener of listeners) {
    try {
      listener(change)
    } catch (error) {
      onError(error)
    }
  }
}
