/**
 * Polls `check` until it returns true, for at most `timeoutMs`, and returns how long that took.
 * For propagation between processes and connections, never for expiry (time comes from the
 * injected clocks). Rejects with `what` in the message when the deadline passes.
 */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 2_000, intervalMs = 2 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await check()) return performance.now() - started
    if (performance.now() - started > timeoutMs) {
      throw new Error(`${what}: not within ${timeoutMs} ms`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Records unhandled rejections while a test file runs; `take()` returns and clears them. */
export function trackUnhandledRejections() {
  const seen: unknown[] = []
  const onRejection = (reason: unknown) => seen.push(reason)
  return {
    start: () => process.on('unhandledRejection', onRejection),
    stop: () => process.off('unhandledRejection', onRejection),
    take: () => seen.splice(0),
  }
}
