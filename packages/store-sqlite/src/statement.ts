import type { Database, Statement } from 'better-sqlite3'

/**
 * Prepares `sql` so that it reads integers as numbers even on a connection the caller switched to
 * `defaultSafeIntegers(true)`: every integer the store keeps is a timestamp or a small count.
 */
export function prepare<Params extends unknown[], Row = unknown>(
  db: Database,
  sql: string,
): Statement<Params, Row> {
  return db.prepare<Params, Row>(sql).safeIntegers(false)
}

/** Runs `task` once every `every` calls (lazy clean-up of expired rows). */
export function periodically(every: number, task: () => void): () => void {
  let calls = 0
  return () => {
    calls += 1
    if (calls >= every) {
      calls = 0
      task()
    }
  }
}
