/**
 * The part of a `pg` 8.x `Pool` the store uses, written out so that the store's types do not
 * depend on `@types/pg`: a `pg.Pool` (or anything shaped like one) fits.
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

/** A connection checked out of the pool, for a transaction. */
export interface PgPoolClient extends PgQueryable {
  release(error?: Error | boolean): void
}

export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>
}
