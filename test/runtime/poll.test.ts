import type { PollState } from '../../src/runtime/contracts';
import {
  AGENT_AFTER_START_POLICY,
  AGENT_BEFORE_SCRIPT_POLICY,
  backupPolicy,
  INSTANCE_POWER_POLICY,
  nextPoll,
  type PollPolicy,
  scriptPolicy,
} from '../../src/runtime/poll';

/** Every state a wait goes through until it expires (the workflow stops there). */
function run(policy: PollPolicy, limit = 10_000): PollState[] {
  const states: PollState[] = [];
  let state: PollState | null = null;
  do {
    state = nextPoll(state, policy);
    states.push(state);
  } while (!state.expired && states.length < limit);
  return states;
}

describe('nextPoll', () => {
  test('first call: attempt 1, nothing waited yet, initial wait', () => {
    expect(nextPoll(null, INSTANCE_POWER_POLICY)).toEqual({ attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 10, maxSeconds: 900, expired: false });
    expect(nextPoll(undefined, INSTANCE_POWER_POLICY)).toEqual(nextPoll(null, INSTANCE_POWER_POLICY));
  });

  test('waits double from the initial wait up to the cap', () => {
    const waits = run(AGENT_AFTER_START_POLICY).map((s) => s.nextWaitSeconds);
    expect(waits.slice(0, 5)).toEqual([15, 30, 60, 60, 60]);
    expect(Math.max(...waits)).toBe(60);
  });

  test('elapsed time is the sum of the previous waits', () => {
    const states = run(scriptPolicy(600));
    for (let i = 1; i < states.length; i++) {
      expect(states[i].attempt).toBe(i + 1);
      expect(states[i].elapsedSeconds).toBe(states[i - 1].elapsedSeconds + states[i - 1].nextWaitSeconds);
    }
  });

  test('the last wait ends exactly at the bound, and the check there is expired', () => {
    const states = run(AGENT_BEFORE_SCRIPT_POLICY);
    expect(states.map((s) => [s.elapsedSeconds, s.nextWaitSeconds, s.expired])).toEqual([
      [0, 15, false],
      [15, 30, false],
      [45, 15, false],
      [60, 1, true],
    ]);
  });

  test.each([
    ['agent beforeScript', AGENT_BEFORE_SCRIPT_POLICY, 60],
    ['agent afterStart', AGENT_AFTER_START_POLICY, 900],
    ['instance power', INSTANCE_POWER_POLICY, 900],
    ['script of 600 s', scriptPolicy(600), 900],
    ['script without timeout', scriptPolicy(0), 300],
    ['backup default windows', backupPolicy({ startWindowMinutes: 0, completeWindowMinutes: 0 }), 60 * 60 + 480 * 60 + 900],
    ['backup set windows', backupPolicy({ startWindowMinutes: 120, completeWindowMinutes: 600 }), 120 * 60 + 600 * 60 + 900],
  ])('%s: bounded, expires after a finite number of attempts at exactly the bound', (_name, policy, max) => {
    expect(policy.maxSeconds).toBe(max);
    const states = run(policy);
    const last = states[states.length - 1];
    expect(last.expired).toBe(true);
    expect(last.elapsedSeconds).toBe(max);
    expect(states.slice(0, -1).every((s) => !s.expired)).toBe(true);
    // With waits of at least the initial one (except the last, clipped), the number of checks is small.
    expect(states.length).toBeLessThanOrEqual(Math.ceil(max / policy.initialWaitSeconds) + 2);
    for (const s of states) {
      expect(s.nextWaitSeconds).toBeGreaterThanOrEqual(1);
      expect(s.nextWaitSeconds).toBeLessThanOrEqual(policy.capWaitSeconds);
      expect(s.elapsedSeconds + s.nextWaitSeconds).toBeLessThanOrEqual(Math.max(max, s.elapsedSeconds + 1));
    }
  });

  test('a wait already past its bound stays expired', () => {
    const state = nextPoll({ attempt: 7, elapsedSeconds: 1000, nextWaitSeconds: 30, maxSeconds: 900, expired: true }, INSTANCE_POWER_POLICY);
    expect(state).toMatchObject({ attempt: 8, elapsedSeconds: 1030, nextWaitSeconds: 1, expired: true });
  });

  test('a large attempt number does not overflow the doubling', () => {
    const state = nextPoll({ attempt: 5000, elapsedSeconds: 0, nextWaitSeconds: 0, maxSeconds: 900, expired: false }, INSTANCE_POWER_POLICY);
    expect(state.nextWaitSeconds).toBe(30);
  });

  test('a zero bound expires at the first check', () => {
    expect(nextPoll(null, { initialWaitSeconds: 5, capWaitSeconds: 10, maxSeconds: 0 })).toMatchObject({ expired: true, nextWaitSeconds: 1 });
  });
});
