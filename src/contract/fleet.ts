/**
 * Fleet scale (docs/design.md "Fleet scale"): how the fleet's chains are spread so that their first calls
 * (SendCommand, StopInstances, StartBackupJob) and their looks while frozen stay within AWS's request rates, and how
 * pages of instances overlap so that a large fleet finishes in one night.
 */

/**
 * Instances per page of discovery (discover-instances' default `DISCOVERY_PAGE_SIZE`, and DescribeInstances' most): a
 * page's Map runs at most this many chains.
 */
export const PAGE_SIZE = 1000;

/** What the state machine tells discover-instances about the spread (literals fixed at synthesis). */
export interface EntrySpread {
  /** A page's Map MaxConcurrency: at most this many chains of one page run together. */
  readonly maxConcurrency: number;
  /** Seconds per chain of the window its wave is spread over (1 / the entry rate). */
  readonly secondsPerChain: number;
  /**
   * How many pages run at the same time (the pages' Map MaxConcurrency). Pages that run together share one entry
   * schedule: each page's window starts where the previous page's ends. @default 1
   */
  readonly concurrentPages?: number;
}

/** Where one page's chains enter the fleet's schedule: each waits a random whole number of seconds in [from, to). */
export interface PageEntry {
  /** Seconds after its page starts before the page's first chain may start. */
  readonly entryFromSeconds: number;
  /** Seconds after its page starts by which the page's last chain has started (greater than `entryFromSeconds`). */
  readonly entryToSeconds: number;
}

/** One discovered page, as the fleet level keeps it (its instances are in its manifest, not in the state). */
export interface PageDescriptor extends PageEntry {
  /** The page's number in the run, from 0 (its manifest is `PAGE#<execution ARN>#<pageNumber>`). */
  readonly pageNumber: number;
  /** Instances of the page the run works on. */
  readonly instanceCount: number;
  /** Tagged instances of the page left out (terminated, shutting-down). */
  readonly excludedCount: number;
}

/** What discovery found so far, in all pages: the counts the run's fallback record carries. */
export function discoveredCounts(pages: readonly PageDescriptor[]): { instanceCount: number; excludedCount: number } {
  return {
    instanceCount: pages.reduce((n, p) => n + (p.instanceCount || 0), 0),
    excludedCount: pages.reduce((n, p) => n + (p.excludedCount || 0), 0),
  };
}

/**
 * The window (seconds, at least 1) a page's first chains are spread over: each waits a random 0 to this many seconds
 * before its first action, so `min(items, maxConcurrency)` chains enter at about 1 / secondsPerChain per second.
 */
export function entrySpreadSeconds(items: number, spread: EntrySpread | undefined): number {
  if (!spread || !(spread.secondsPerChain > 0) || !(spread.maxConcurrency > 0)) return 1;
  return Math.max(1, Math.ceil(Math.min(items, spread.maxConcurrency) * spread.secondsPerChain));
}

/**
 * A page's place in the schedule. Pages run `concurrentPages` at a time; those that start together enter one after
 * another: page p's window starts where page p - 1's ends, unless p starts a new group of pages (it then starts
 * when an earlier page ends, and its window starts at 0).
 */
export function pageEntry(pageNumber: number, items: number, spread: EntrySpread | undefined, previous?: PageEntry): PageEntry {
  const window = entrySpreadSeconds(items, spread);
  const together = Math.max(1, Math.floor(spread?.concurrentPages ?? 1));
  const from = previous && pageNumber % together !== 0 ? previous.entryToSeconds : 0;
  return { entryFromSeconds: from, entryToSeconds: from + window };
}
