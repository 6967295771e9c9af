import type { CounterStore, CounterValue } from '@apimw/core'
import type { Database } from 'better-sqlite3'
import { periodically, prepare } from './statement.js'

interface CounterRow {
  count: number
  reset_at: number
}

/** How many `increment` calls pass between two sweeps of ended windows. */
const sweepEvery = 1000

const toValue = (row: CounterRow): CounterValue => ({ count: row.count, resetAt: row.reset_at })

/** Fixed-window counters in `counters`; rows whose window has ended are deleted lazily. */
export function createCounterStore(db: Database): CounterStore {
  const upsert = prepare<[{ name: string; now: number; reset_at: number }], CounterRow>(
    db,
    `INSERT INTO counters (name, count, reset_at) VALUES (@name, 1, @reset_at)
     ON CONFLICT (name) DO UPDATE SET
       count = CASE WHEN reset_at > @now THEN count + 1 ELSE 1 END,
       reset_at = CASE WHEN reset_at > @now THEN reset_at ELSE excluded.reset_at END
     RETURNING count, reset_at`,
  )
  const select = prepare<[string], CounterRow>(
    db,
    'SELECT count, reset_at FROM counters WHERE name = ?',
  )
  const deleteOne = prepare<[string]>(db, 'DELETE FROM counters WHERE name = ?')
  const deleteEnded = prepare<[number]>(db, 'DELETE FROM counters WHERE reset_at <= ?')

  const increment = db.transaction((name: string, windowSeconds: number, now: number) => {
    const row = upsert.get({ name, now, reset_at: now + windowSeconds })
    if (!row) throw new Error(`counter ${name} was not written`)
    return toValue(row)
  })
  const sweep = periodically(sweepEvery, (now: number) => deleteEnded.run(now))

  return {
    async increment(name, windowSeconds, now) {
      sweep(now)
      return increment.immediate(name, windowSeconds, now)
    },
    async get(name, now) {
      const row = select.get(name)
      return row && row.reset_at > now ? toValue(row) : undefined
    },
    async delete(name) {
      deleteOne.run(name)
    },
  }
}
