import type { Clock } from '../internal/clock.js'
import { seconds } from '../internal/clock.js'
import type { ApiKeyReader, AuditEvent, AuditSink } from '../stores/types.js'

export type AuditInput = Omit<AuditEvent, 'at'>

export interface AuditLog {
  /** Writes the event to every sink; a failing sink is reported through `onError`, never thrown. */
  emit(event: AuditInput): Promise<void>
  /** Counts an allowed request; counts are written as `request.allowed` events every flush interval. */
  countUsage(keyId: string): void
  /** Writes the pending usage counts now. */
  flushUsage(): Promise<void>
}

export function createAuditLog(options: {
  sinks: readonly AuditSink[]
  clock: Clock
  onError: (error: unknown) => void
  keys: ApiKeyReader & { touch?(key: string, at: number): Promise<void> }
  usageFlushInterval: number
}): AuditLog {
  const { sinks, clock, onError, keys, usageFlushInterval } = options
  let usage = new Map<string, number>()
  let lastFlush = seconds(clock)

  async function emit(event: AuditInput): Promise<void> {
    const full: AuditEvent = { ...event, at: clock().toISOString() }
    await Promise.all(
      sinks.map(async (sink) => {
        try {
          await sink.write(full)
        } catch (error) {
          onError(error)
        }
      }),
    )
  }

  async function flushUsage(): Promise<void> {
    const counts = usage
    usage = new Map()
    lastFlush = seconds(clock)
    await Promise.all(
      [...counts].map(async ([keyId, count]) => {
        await emit({ type: 'request.allowed', keyId, details: { count } })
        try {
          await keys.touch?.(keyId, lastFlush)
        } catch (error) {
          onError(error)
        }
      }),
    )
  }

  return {
    emit,
    flushUsage,
    countUsage(keyId) {
      usage.set(keyId, (usage.get(keyId) ?? 0) + 1)
      if (seconds(clock) - lastFlush >= usageFlushInterval) void flushUsage()
    },
  }
}
