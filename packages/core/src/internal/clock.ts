export type Clock = () => Date

/** Whole seconds since the epoch, the unit of every stored timestamp. */
export const seconds = (clock: Clock): number => Math.floor(clock().getTime() / 1000)

export const isoTime = (clock: Clock): string => clock().toISOString()
