import type { AuditEvent, AuditEventType, AuditStore } from '@apimw/core'
import type { Database } from 'better-sqlite3'
import { fromJson, toJson } from './json.js'
import { periodically, prepare } from './statement.js'

interface AuditRow {
  type: string
  at: string
  key_id: string | null
  ip: string | null
  reason: string | null
  request_id: string | null
  details: string | null
}

function toEvent(row: AuditRow): AuditEvent {
  const event: AuditEvent = { type: row.type as AuditEventType, at: row.at }
  if (row.key_id !== null) event.keyId = row.key_id
  if (row.ip !== null) event.ip = row.ip
  if (row.reason !== null) event.reason = row.reason
  if (row.request_id !== null) event.requestId = row.request_id
  if (row.details !== null) event.details = fromJson<Record<string, unknown>>(row.details)
  return event
}

const columns = 'type, at, key_id, ip, reason, request_id, details'

/** Writes between two checks of `maxAuditEvents`. */
const PRUNE_EVERY = 1000

/**
 * Audit events in `audit_events`, in write order (an AUTOINCREMENT id). The (key_id, id) index
 * serves `tail({ keyId })`. With `maxAuditEvents` (not `null`), every {@link PRUNE_EVERY} writes
 * delete the events older than the newest `maxAuditEvents`.
 */
export function createAuditStore(db: Database, maxAuditEvents: number | null): AuditStore {
  const insert = prepare<[AuditRow]>(
    db,
    `INSERT INTO audit_events (${columns})
     VALUES (@type, @at, @key_id, @ip, @reason, @request_id, @details)`,
  )
  const tailAll = prepare<[number], AuditRow>(
    db,
    `SELECT ${columns} FROM (SELECT id, ${columns} FROM audit_events ORDER BY id DESC LIMIT ?)
     ORDER BY id`,
  )
  const tailKey = prepare<[string, number], AuditRow>(
    db,
    `SELECT ${columns} FROM (
       SELECT id, ${columns} FROM audit_events WHERE key_id = ? ORDER BY id DESC LIMIT ?
     ) ORDER BY id`,
  )

  const deleteOldest = prepare<[number]>(
    db,
    'DELETE FROM audit_events WHERE id <= (SELECT max(id) FROM audit_events) - ?',
  )
  const prune = periodically(PRUNE_EVERY, (max: number) => {
    try {
      deleteOldest.run(max)
    } catch {
      // Housekeeping only, after the event was written: a failure (e.g. SQLITE_BUSY) must not
      // fail the write. The store has no error callback to report it to; the next check retries.
    }
  })

  return {
    async write(event) {
      insert.run({
        type: event.type,
        at: event.at,
        key_id: event.keyId ?? null,
        ip: event.ip ?? null,
        reason: event.reason ?? null,
        request_id: event.requestId ?? null,
        details: event.details === undefined ? null : toJson(event.details),
      })
      if (maxAuditEvents !== null) prune(maxAuditEvents)
    },
    async tail({ keyId, limit }) {
      if (!(limit >= 1)) return []
      const count = Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER)
      const rows = keyId === undefined ? tailAll.all(count) : tailKey.all(keyId, count)
      return rows.map(toEvent)
    },
  }
}
