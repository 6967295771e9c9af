import type { CounterStore, CounterValue } from '@apimw/core'
import { toNumber } from './sql.js'
import type { StoreContext } from './store-context.js'
import { nulFree } from './text.js'

interface CounterRow {
  count: string
  reset_at: string
}

const toValue = (row: CounterRow): CounterValue => ({
  count: toNumber(row.count),
  resetAt: toNumber(row.reset_at),
})

/**
 * Fixed-window counters in `counters`. `increment` is one `INSERT ... ON CONFLICT DO UPDATE`
 * (atomic per row): it starts a new window when the stored one has ended at the caller's `now`.
 */
export function createCounterStore(db: StoreContext): CounterStore {
  const { t } = db
  const prune = db.periodically((now) =>
    db.write(`DELETE FROM ${t.counters} WHERE reset_at <= $1`, [now]),
  )
  return {
    async increment(name, windowSeconds, now) {
      const { rows } = await db.write<CounterRow>(
        `INSERT INTO ${t.counters} AS c (name, count, reset_at) VALUES ($1, 1, $2)
         ON CONFLICT (name) DO UPDATE SET
           count = CASE WHEN c.reset_at <= $3 THEN 1 ELSE c.count + 1 END,
           reset_at = CASE WHEN c.reset_at <= $3 THEN EXCLUDED.reset_at ELSE c.reset_at END
         RETURNING count, reset_at`,
        [nulFree(name), now + windowSeconds, now],
      )
      prune(now)
      return toValue(rows[0]!)
    },

    async get(name, now) {
      const { rows } = await db.query<CounterRow>(
        `SELECT count, reset_at FROM ${t.counters} WHERE name = $1 AND reset_at > $2`,
        [nulFree(name), now],
      )
      return rows[0] && toValue(rows[0])
    },

    async delete(name) {
      await db.write(`DELETE FROM ${t.counters} WHERE name = $1`, [nulFree(name)])
    },
  }
}
