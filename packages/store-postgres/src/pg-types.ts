/**
 * The part of a `pg` 8.x `Pool` the store uses, written out so that the store's types do not
 * depend on `@types/pg`: a `pg.Pool` (or anything shaped like one) fits. The event methods are
 * optional: without them the store cannot guard against connection errors or listen for changes.
 */
export interface PgQueryResult<Row> {
  rows: Row[]
  rowCount: number | null
}

export interface PgQueryable {
  query<Row extends object = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<PgQueryResult<Row>>
}

/** A `NOTIFY` as `pg` delivers it on a listening connection. */
export interface PgNotification {
  channel: string
  payload?: string
}

/** A connection checked out of the pool, for a transaction or for `LISTEN`. */
export interface PgPoolClient extends PgQueryable {
  /** `release(error)` or `release(true)` makes the pool close the connection instead of reusing it. */
  release(error?: Error | boolean): void
  on?(event: 'error', listener: (error: Error) => void): unknown
  on?(event: 'notification', listener: (message: PgNotification) => void): unknown
  removeListener?(event: 'error', listener: (error: Error) => void): unknown
}

export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>
  on?(event: 'error', listener: (error: Error) => void): unknown
  listenerCount?(event: 'error'): number
}
