import { World } from './world';
import { checkInvariants, SimRun } from '../helpers/harness';

/** The harness's token check (test/helpers/harness.ts): a task still waiting at the end is a violation. */
function fabricated(waitingTokens: string[], statsWaiting: number): SimRun {
  return {
    result: {
      status: 'SUCCEEDED',
      executionArn: 'arn:fab',
      executionName: 'fab',
      startTime: '',
      stats: { exceedsTimeout: false, tokens: { waiting: statsWaiting } } as any,
    },
    auditItem: undefined,
    world: new World(),
    calls: [],
    instances: [],
    discovered: [],
    toggles: { pre: false, stop: false, post: false },
    failsBeforeInstances: false,
    healthy: [],
    stateHistory: {},
    newJobIds: [],
    seqAfter: 0,
    unexpectedCalls: 0,
    waitingTokens,
  };
}

test('every token the simulator issued must be answered or timed out by the end of the run', () => {
  expect(checkInvariants(fabricated([], 0))).toEqual(['3: no audit run item in the table']);
  expect(checkInvariants(fabricated(['Backup job (i-0000000000000000a)'], 1))).toEqual([
    '4: the task Backup job (i-0000000000000000a) still waits for its token at the end of the run',
    '3: no audit run item in the table',
  ]);
  expect(checkInvariants(fabricated([], 1))).toContain('4: the run stats and the token registry disagree on waiting tokens');
});
