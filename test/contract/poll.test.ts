import { type PollState } from '../../src/contract/messages';
import {
  AGENT_AFTER_START_POLICY,
  AGENT_BEFORE_SCRIPT_POLICY,
  backupPolicy,
  FIXED_POLL_SECONDS_ENV,
  fixedPollSeconds,
  INSTANCE_POWER_POLICY,
  nextPoll,
  type PollPolicy,
  scriptPolicy,
} from '../../src/contract/poll';

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
    expect(waits.slice(0, 5)).toEqual([10, 20, 20, 20, 20]);
    expect(Math.max(...waits)).toBe(20);
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

describe('fixedPollSeconds (the benchmark baseline)', () => {
  const saved = process.env[FIXED_POLL_SECONDS_ENV];
  const set = (value: string | undefined) => {
    if (value === undefined) delete process.env[FIXED_POLL_SECONDS_ENV];
    else process.env[FIXED_POLL_SECONDS_ENV] = value;
  };
  afterEach(() => set(saved));

  test('the environment variable is FIXED_POLL_SECONDS', () => {
    expect(FIXED_POLL_SECONDS_ENV).toBe('FIXED_POLL_SECONDS');
  });

  test('unset or empty: no fixed intervals', () => {
    set(undefined);
    expect(fixedPollSeconds()).toEqual({});
    set('');
    expect(fixedPollSeconds()).toEqual({});
  });

  test('set: the positive numbers of the known kinds', () => {
    set('{"script":1,"backup":10,"power":1,"agent":2}');
    expect(fixedPollSeconds()).toEqual({ script: 1, backup: 10, power: 1, agent: 2 });
    set('{"script":0.5,"copy":3,"backup":-1,"power":0,"agent":"5"}');
    expect(fixedPollSeconds()).toEqual({ script: 0.5 });
  });

  test.each(['not json', '{', 'null', '42', '"script"', '[1,2]', '{"script":null}', '{"script":Infinity}'])('garbage %p: no fixed intervals', (raw) => {
    set(raw);
    expect(fixedPollSeconds()).toEqual({});
  });

  test('nextPoll waits the fixed interval of its kind at every attempt, still bounded', () => {
    set('{"script":1,"backup":10}');
    const script = run(scriptPolicy(60));
    expect(new Set(script.map(s => s.nextWaitSeconds))).toEqual(new Set([1]));
    expect(script[script.length - 1]).toMatchObject({ elapsedSeconds: 360, expired: true });
    const backup = run(backupPolicy({ startWindowMinutes: 60, completeWindowMinutes: 60 }));
    expect(backup.slice(0, 5).map(s => s.nextWaitSeconds)).toEqual([10, 10, 10, 10, 10]);
    expect(backup[backup.length - 1].elapsedSeconds).toBe(60 * 60 * 2 + 900);
    // A kind without a fixed interval keeps its backoff.
    expect(run(INSTANCE_POWER_POLICY).slice(0, 3).map(s => s.nextWaitSeconds)).toEqual([10, 20, 30]);
  });

  test('a policy without a kind is never fixed; without the variable the backoff is back', () => {
    set('{"script":1,"power":1,"agent":1,"backup":1}');
    const { kind: _kind, ...anonymous } = INSTANCE_POWER_POLICY;
    expect(run(anonymous).slice(0, 3).map(s => s.nextWaitSeconds)).toEqual([10, 20, 30]);
    expect(nextPoll(null, AGENT_BEFORE_SCRIPT_POLICY).nextWaitSeconds).toBe(1);
    set(undefined);
    expect(nextPoll(null, AGENT_BEFORE_SCRIPT_POLICY).nextWaitSeconds).toBe(15);
  });
});
