import { type RunTally } from './instance';
/**
 * The run's tally before its first page. No SDK import: the workflow definition starts every run with it too.
 */

/** The tally of a run before its first page. */
export function emptyTally(): RunTally {
  return {
    pages: 0,
    instanceCount: 0,
    succeededCount: 0,
    failedCount: 0,
    skippedCount: 0,
    maxStoppedSeconds: 0,
    maxFrozenSeconds: 0,
    excludedCount: 0,
    excludedSample: [],
  };
}

/** The run's tally from its pages' tallies (pages that run at the same time each record their own). */
export function mergeTallies(tallies: readonly RunTally[], sampleSize: number): RunTally {
  const merged = emptyTally();
  return tallies.reduce<RunTally>((sum, t) => ({
    pages: sum.pages + t.pages,
    instanceCount: sum.instanceCount + t.instanceCount,
    succeededCount: sum.succeededCount + t.succeededCount,
    failedCount: sum.failedCount + t.failedCount,
    skippedCount: sum.skippedCount + t.skippedCount,
    maxStoppedSeconds: Math.max(sum.maxStoppedSeconds, t.maxStoppedSeconds),
    maxFrozenSeconds: Math.max(sum.maxFrozenSeconds, t.maxFrozenSeconds ?? 0),
    excludedCount: sum.excludedCount + t.excludedCount,
    excludedSample: [...sum.excludedSample, ...t.excludedSample].slice(0, sampleSize),
  }), merged);
}
