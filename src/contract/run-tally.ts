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
