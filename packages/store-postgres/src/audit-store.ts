import type { AuditEvent, AuditStore } from '@apimw/core'
import type { StoreContext } from './store-context.js'
import { nulFree } from './text.js'

/**
 * Audit events in `audit_events` (a `bigserial` id gives their order; an index on `(key_id, id)`
 * serves `tail({ keyId })`). With `maxAuditEvents` (1 000 000 unless set), older rows are deleted
 * every `pruneEvery` writes, in the background; `null` keeps every row.
 */
export function createAuditStore(db: StoreContext): AuditStore {
  const { t } = db
  const { maxAuditEvents } = db.options
  const prune = db.periodically(() =>
    db.write(
      `DELETE FROM ${t.auditEvents} WHERE id <= (SELECT max(id) FROM ${t.auditEvents}) - $1`,
      [maxAuditEvents],
    ),
  )
  return {
    async write(event) {
      await db.write(
        `INSERT INTO ${t.auditEvents} (type, at, key_id, event) VALUES ($1, $2, $3, $4::json)`,
        [
          event.type,
          event.at,
          event.keyId === undefined ? null : nulFree(event.keyId),
          JSON.stringify(event),
        ],
      )
      if (maxAuditEvents !== null) prune(0)
    },

    async tail({ keyId, limit }) {
      if (!(limit > 0)) return []
      const { rows } =
        keyId === undefined
          ? await db.query<{ event: AuditEvent }>(
              `SELECT event FROM ${t.auditEvents} ORDER BY id DESC LIMIT $1`,
              [Math.floor(limit)],
            )
          : await db.query<{ event: AuditEvent }>(
              `SELECT event FROM ${t.auditEvents} WHERE key_id = $1 ORDER BY id DESC LIMIT $2`,
              [nulFree(keyId), Math.floor(limit)],
            )
      return rows.map((row) => row.event).reverse()
    },
  }
}
