/**
 * Buffers `keys.touch()` so that usage costs one write per flush, not one per request: the latest
 * `at` per key is kept in memory and written every `intervalMs` (on a timer that does not keep the
 * process alive), as soon as `maxKeys` keys are waiting, and on `flush()` / `close()`.
 */
export interface TouchBuffer {
  /** Records a use; with `intervalMs` 0, writes it at once. */
  add(key: string, at: number): Promise<void>
  /** The latest use not yet written for `key`, if any (so this process reads its own touches). */
  pending(key: string): number | undefined
  /** Writes everything buffered; rejects if the write fails (the entries stay buffered). */
  flush(): Promise<void>
}

export interface TouchBufferOptions {
  intervalMs: number
  maxKeys: number
  /** Writes `[key, at]` pairs, sorted by key; must keep `max(lastUsedAt, at)`. */
  write(entries: [string, number][]): Promise<void>
}

export function createTouchBuffer({ intervalMs, maxKeys, write }: TouchBufferOptions): TouchBuffer {
  let waiting = new Map<string, number>()
  let writing = new Map<string, number>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let chain: Promise<void> = Promise.resolve()

  const keep = (entries: Map<string, number>, key: string, at: number) => {
    const current = entries.get(key)
    if (current === undefined || at > current) entries.set(key, at)
  }

  const writeWaiting = async () => {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (waiting.size === 0) return
    writing = waiting
    waiting = new Map()
    try {
      await write([...writing].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    } catch (error) {
      // Keep the entries for the next attempt, within a bound (touch is best effort).
      for (const [key, at] of writing) {
        if (waiting.size >= maxKeys * 10) break
        keep(waiting, key, at)
      }
      schedule()
      throw error
    } finally {
      writing = new Map()
    }
  }

  const flush = (): Promise<void> => {
    chain = chain.catch(() => undefined).then(writeWaiting)
    return chain
  }

  const schedule = () => {
    if (timer || waiting.size === 0) return
    timer = setTimeout(() => {
      timer = undefined
      flush().catch(() => undefined)
    }, intervalMs)
    timer.unref?.()
  }

  return {
    async add(key, at) {
      if (intervalMs === 0) return write([[key, at]])
      keep(waiting, key, at)
      if (waiting.size >= maxKeys) flush().catch(() => undefined)
      else schedule()
    },
    pending(key) {
      const a = waiting.get(key)
      const b = writing.get(key)
      return a === undefined ? b : b === undefined ? a : Math.max(a, b)
    },
    flush,
  }
}
