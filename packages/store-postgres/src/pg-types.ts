/**
 * The part of a `pg` 8.x `Pool` the store uses, written out so that the store's types do not
 * depend on `@types/pg`: a `pg.Pool` (or anything shaped like one) fits. The event methods are
 * optional: without them the store cannot guard against connection errors or listen for changes.
 */
/** What a query resolves with: pg's `QueryResult`, reduced to what the store reads. */
export interface PgQueryResult<Row> {
  rows: Row[]
  /** Rows the statement inserted, updated, deleted or returned (`null` for other statements). */
  rowCount: number | null
}

/**
 * Something that runs one SQL statement with `$1`-style parameters: a pool or a checked-out
 * connection. The store sends at most one statement per call with parameters; a call without
 * `values` may hold several statements (`BEGIN; SET LOCAL ...`), which pg sends as one simple query.
 */
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

/**
 * The pool the store is given (a `pg.Pool`). `query` serves reads; `connect` checks out a
 * connection for each write (a transaction) and for the change feed's `LISTEN`.
 */
export interface PgPool extends PgQueryable {
  /** Checks out a connection; the store always releases it (with an error to have it closed). */
  connect(): Promise<PgPoolClient>
  /** Where pg reports idle connections that die; the store listens when nobody else does. */
  on?(event: 'error', listener: (error: Error) => void): unknown
  listenerCount?(event: 'error'): number
}
