import { emptyTally, mergeTallies } from '../../src/contract/run-tally';

describe('the run\'s tally from its pages', () => {
  test('counts add up, the longest stop and freeze win, the excluded sample keeps the first ones', () => {
    const a = {
      ...emptyTally(),
      pages: 1,
      instanceCount: 3,
      succeededCount: 2,
      failedCount: 1,
      maxStoppedSeconds: 90,
      maxFrozenSeconds: 40,
      excludedCount: 2,
      excludedSample: [{ instanceId: 'i-1', state: 'terminated', reason: 'gone' }, { instanceId: 'i-2', state: 'terminated', reason: 'gone' }],
    };
    const b = {
      ...emptyTally(),
      pages: 1,
      instanceCount: 2,
      succeededCount: 1,
      skippedCount: 1,
      maxStoppedSeconds: 30,
      maxFrozenSeconds: 70,
      excludedCount: 1,
      excludedSample: [{ instanceId: 'i-3', state: 'terminated', reason: 'gone' }],
    };
    expect(mergeTallies([a, b], 2)).toEqual({
      pages: 2,
      instanceCount: 5,
      succeededCount: 3,
      failedCount: 1,
      skippedCount: 1,
      maxStoppedSeconds: 90,
      maxFrozenSeconds: 70,
      excludedCount: 3,
      excludedSample: a.excludedSample,
    });
    expect(mergeTallies([], 100)).toEqual(emptyTally());
  });
});
