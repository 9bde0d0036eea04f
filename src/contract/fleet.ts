/**
 * Fleet scale (docs/design.md "Fleet scale"): how a page's wave of chains is spread so that their first calls
 * (SendCommand, StopInstances, StartBackupJob) and their looks while frozen stay within AWS's request rates.
 */

/** What the state machine tells discover-instances about the spread (literals fixed at synthesis). */
export interface EntrySpread {
  /** The Map's MaxConcurrency: at most this many chains start together. */
  readonly maxConcurrency: number;
  /** Seconds per chain of the window its wave is spread over (1 / the entry rate). */
  readonly secondsPerChain: number;
}

/**
 * The window (seconds, at least 1) a page's first chains are spread over: each waits a random 0 to this many seconds
 * before its first action, so `min(items, maxConcurrency)` chains enter at about 1 / secondsPerChain per second.
 */
export function entrySpreadSeconds(items: number, spread: EntrySpread | undefined): number {
  if (!spread || !(spread.secondsPerChain > 0) || !(spread.maxConcurrency > 0)) return 1;
  return Math.max(1, Math.ceil(Math.min(items, spread.maxConcurrency) * spread.secondsPerChain));
}
