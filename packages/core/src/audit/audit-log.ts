import type { Clock } from '../internal/clock.js'
import { seconds } from '../internal/clock.js'
import type { ApiKeyReader, AuditEvent, AuditSink } from '../stores/types.js'

export type AuditInput = Omit<AuditEvent, 'at'>

export interface AuditLog {
  /** Writes the event to every sink; a failing sink is reported through `onError`, never thrown. */
  emit(event: AuditInput): Promise<void>
  /** Counts an allowed request; counts are written as `request.allowed` events every flush interval. */
  countUsage(keyId: string): void
  /**
   * Counts a guarded request that carried no credential at all (401 `unauthorized`): written as one
   * `request.denied` event with a count per flush interval, so anonymous traffic cannot flood the log.
   */
  countAnonymousDenial(ip: string | undefined): void
  /** Writes the pending counts now. */
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
  let anonymous = { count: 0, ips: new Set<string>() }
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
    const denied = anonymous
    usage = new Map()
    anonymous = { count: 0, ips: new Set() }
    lastFlush = seconds(clock)
    if (denied.count > 0) {
      await emit({
        type: 'request.denied',
        reason: 'token_missing',
        details: { count: denied.count, ips: [...denied.ips] },
      })
    }
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

  function flushWhenDue(): void {
    if (seconds(clock) - lastFlush >= usageFlushInterval) void flushUsage()
  }

  return {
    emit,
    flushUsage,
    countUsage(keyId) {
      usage.set(keyId, (usage.get(keyId) ?? 0) + 1)
      flushWhenDue()
    },
    countAnonymousDenial(ip) {
      anonymous.count++
      // A sample of addresses, bounded: enough to see who, never a way to grow memory.
      if (ip !== undefined && anonymous.ips.size < 20) anonymous.ips.add(ip)
      flushWhenDue()
    },
  }
}
