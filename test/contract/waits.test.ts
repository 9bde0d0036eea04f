import { WAIT_KEY_PREFIX, waitKey } from '../../src/contract/audit-schema';
import { scriptPolicy } from '../../src/contract/poll';
import { FALLBACK_SECONDS, fallbackRetries, pollAtAttempt, scriptResourceId, WAIT_KINDS, type WaitKind } from '../../src/contract/waits';

describe('pollAtAttempt', () => {
  test.each(WAIT_KINDS.map(k => [k]))('%s: each earlier attempt ended with a fallback timeout: elapsed = (attempt - 1) x fallback', (kind) => {
    const fallback = FALLBACK_SECONDS[kind as WaitKind];
    const bound = 100 * fallback;
    for (const attempt of [1, 2, 3, 7, 50]) {
      const poll = pollAtAttempt(attempt, kind as WaitKind, bound);
      expect(poll).toEqual({
        attempt,
        elapsedSeconds: (attempt - 1) * fallback,
        nextWaitSeconds: fallback,
        maxSeconds: bound,
        expired: false,
      });
    }
  });

  test('the first registration has waited nothing', () => {
    expect(pollAtAttempt(1, 'stop', 900)).toEqual({ attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 60, maxSeconds: 900, expired: false });
  });

  test('expired exactly when the elapsed fallbacks reach the bound, not one attempt earlier', () => {
    // stop: 60 s per fallback, bound 900 s: attempts 1..15 wait, the 16th (900 s elapsed) ends the wait.
    expect(pollAtAttempt(15, 'stop', 900)).toMatchObject({ elapsedSeconds: 840, expired: false, nextWaitSeconds: 60 });
    expect(pollAtAttempt(16, 'stop', 900)).toMatchObject({ elapsedSeconds: 900, expired: true });
    expect(pollAtAttempt(17, 'stop', 900)).toMatchObject({ elapsedSeconds: 960, expired: true });
    // A bound one second past a multiple needs one more attempt.
    expect(pollAtAttempt(16, 'stop', 901)).toMatchObject({ elapsedSeconds: 900, expired: false, nextWaitSeconds: 1 });
    expect(pollAtAttempt(17, 'stop', 901)).toMatchObject({ expired: true });
  });

  test('nextWaitSeconds never goes past the bound (and is at least 1 s)', () => {
    for (const kind of WAIT_KINDS) {
      for (const bound of [1, 299, 300, 301, 900, 1234, 33_300]) {
        for (let attempt = 1; ; attempt++) {
          const poll = pollAtAttempt(attempt, kind, bound);
          expect(poll.nextWaitSeconds).toBeGreaterThanOrEqual(1);
          if (poll.expired) break;
          expect({ kind, bound, attempt, overshoot: poll.elapsedSeconds + poll.nextWaitSeconds > bound })
            .toEqual({ kind, bound, attempt, overshoot: false });
          expect(attempt).toBeLessThan(10_000);
        }
      }
    }
    // A script bound of 1,000 s with a 300 s fallback: the fourth look has 100 s left.
    expect(pollAtAttempt(4, 'script', 1000)).toMatchObject({ elapsedSeconds: 900, nextWaitSeconds: 100, expired: false });
  });

  test('odd inputs: attempts below 1 count as 1, fractions are floored, a negative bound is 0 (expired at once)', () => {
    expect(pollAtAttempt(0, 'backup', 9000)).toMatchObject({ attempt: 1, elapsedSeconds: 0, expired: false });
    expect(pollAtAttempt(-3, 'backup', 9000)).toMatchObject({ attempt: 1 });
    expect(pollAtAttempt(2.9, 'backup', 9000.7)).toMatchObject({ attempt: 2, elapsedSeconds: 900, maxSeconds: 9000 });
    expect(pollAtAttempt(1, 'copy', -5)).toMatchObject({ maxSeconds: 0, expired: true });
  });
});

describe('fallbackRetries', () => {
  /** The registration at which the handler declares the wait over. */
  const expiringAttempt = (kind: WaitKind, bound: number) => {
    let attempt = 1;
    while (!pollAtAttempt(attempt, kind, bound).expired) attempt++;
    return attempt;
  };

  test('the States.Timeout retries reach the registration that ends the wait, for every kind and many bounds', () => {
    for (const kind of WAIT_KINDS) {
      for (const bound of [0, 1, 300, 599, 600, 601, 900, 1800, 5400, 33_300, 86_400]) {
        const retries = fallbackRetries(kind, { maxSeconds: bound });
        // The first invocation plus `retries` re-invocations: the expiring one must be among them.
        expect({ kind, bound, covered: 1 + retries >= expiringAttempt(kind, bound) }).toEqual({ kind, bound, covered: true });
        // And the retries' timeouts together outlast the bound.
        expect(retries * FALLBACK_SECONDS[kind]).toBeGreaterThanOrEqual(bound);
      }
    }
  });

  test('is finite and not wildly more than needed', () => {
    expect(fallbackRetries('stop', { maxSeconds: 900 })).toBe(17);
    expect(fallbackRetries('script', scriptPolicy(600))).toBe(5);
    expect(fallbackRetries('backup', { maxSeconds: 33_300 })).toBe(39);
    expect(fallbackRetries('copy', { maxSeconds: -1 })).toBe(2);
  });
});

describe('keys', () => {
  test('waitKey is WAIT#<kind>#<resource id>', () => {
    expect(WAIT_KEY_PREFIX).toBe('WAIT#');
    expect(waitKey('stop', 'i-0123456789abcdef0')).toBe('WAIT#stop#i-0123456789abcdef0');
    expect(waitKey('backup', 'D6A7B8C9-0000-4000-8000-000000000001')).toBe('WAIT#backup#D6A7B8C9-0000-4000-8000-000000000001');
    // A stop and a start of the same instance are different waits.
    expect(waitKey('stop', 'i-1')).not.toBe(waitKey('start', 'i-1'));
  });

  test('scriptResourceId is <command id>:<instance id>, one per invocation', () => {
    expect(scriptResourceId('cmd-1', 'i-1')).toBe('cmd-1:i-1');
    expect(scriptResourceId('cmd-1', 'i-1')).not.toBe(scriptResourceId('cmd-1', 'i-2'));
    expect(waitKey('script', scriptResourceId('cmd-1', 'i-1'))).toBe('WAIT#script#cmd-1:i-1');
  });
});
