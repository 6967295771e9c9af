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

/**
 * Runs `task` (with the arguments of the call) once every `every` calls: lazy clean-up of expired
 * rows.
 */
export function periodically<Args extends unknown[]>(
  every: number,
  task: (...args: Args) => void,
): (...args: Args) => void {
  let calls = 0
  return (...args) => {
    calls += 1
    if (calls >= every) {
      calls = 0
      task(...args)
    }
  }
}
