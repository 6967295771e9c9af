/**
 * Bad input from the caller: an unknown command or option, a missing or malformed value, a key
 * that does not exist. `run()` prints its message as one line on stderr and exits with code 2.
 * Thrown before anything in the store changes.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
