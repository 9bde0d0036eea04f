import { leaseKey } from '../../src/contract/audit-schema';
import { LEASE_MARGIN_SECONDS, leaseSecondsFor } from '../../src/contract/lease';
import { AGENT_AFTER_START_POLICY, AGENT_BEFORE_SCRIPT_POLICY, SCRIPT_GRACE_SECONDS } from '../../src/contract/poll';
import { SCRIPT_RETRY_WAIT_SECONDS } from '../../src/contract/settings';
import { FALLBACK_SECONDS } from '../../src/contract/waits';
import { SETTINGS } from '../helpers/handler-fixtures';

describe('leases', () => {
  test('the key of an instance\'s lease', () => {
    expect(leaseKey('i-0123456789abcdef0')).toBe('LEASE#i-0123456789abcdef0');
  });

  test('the duration bounds one instance chain: every bounded wait plus a margin', () => {
    // Scripts 600 + 300 and 300 + 300; stop and start 900 each; agent 60, then 20 + 900 after a start; backup 60 + 120
    // minutes + 900.
    const chain = 900 + 600 + 1800 + 980 + (3600 + 7200 + 900);
    // Waiting on events, each wait may notice its bound one fallback interval late: scripts 300 each, stop and
    // start 60 each, backup 900.
    const lateness = 2 * 300 + 60 + 60 + 900;
    // Issue 14: the release loop before the wait for the job's end: its budget (1800 s) and one look (10 s).
    const release = 1800 + 10;
    expect(leaseSecondsFor(SETTINGS)).toBe(chain + lateness + release + LEASE_MARGIN_SECONDS);
    expect(LEASE_MARGIN_SECONDS).toBe(3600);
  });

  test('no scripts: only their waits drop out; a copy vault adds the backup bound once more', () => {
    const base = leaseSecondsFor(SETTINGS);
    expect(leaseSecondsFor({ ...SETTINGS, preScript: undefined, postScript: undefined })).toBe(base - 1500);
    expect(leaseSecondsFor({ ...SETTINGS, copyVaultArn: 'arn:aws:backup:us-west-2:111122223333:backup-vault:dr' })).toBe(base + 11_700 + 1800);
  });

  test('unset backup windows use AWS Backup\'s defaults (1 h start, 8 h completion)', () => {
    const base = leaseSecondsFor(SETTINGS);
    expect(leaseSecondsFor({ ...SETTINGS, startWindowMinutes: 0, completeWindowMinutes: 0 })).toBe(base - 10_800 + 32_400);
  });
});

describe('issue 15: retries lengthen the lease by whole attempts', () => {
  const base = {
    preScript: { bucketName: 'b', key: 'k', commandLine: 'bash k', workingDirectory: '', timeoutSeconds: 600, platform: 'Linux' as const },
    postScript: { bucketName: 'b', key: 'p', commandLine: 'bash p', workingDirectory: '', timeoutSeconds: 300, platform: 'Linux' as const },
    startWindowMinutes: 60,
    completeWindowMinutes: 480,
    copyVaultArn: '',
  };
  test('each pre-script retry: timeout + grace + the agent check before the script + the pause + one fallback look', () => {
    const more = leaseSecondsFor({ ...base, preScript: { ...base.preScript, retries: 3 } }) - leaseSecondsFor(base);
    expect(more).toBe(3 * (600 + SCRIPT_GRACE_SECONDS + AGENT_BEFORE_SCRIPT_POLICY.maxSeconds + SCRIPT_RETRY_WAIT_SECONDS + FALLBACK_SECONDS.script));
  });
  test('each post-script retry checks its agent with the after-start bound', () => {
    const more = leaseSecondsFor({ ...base, postScript: { ...base.postScript, retries: 1 } }) - leaseSecondsFor(base);
    expect(more).toBe(300 + SCRIPT_GRACE_SECONDS + AGENT_AFTER_START_POLICY.maxSeconds + SCRIPT_RETRY_WAIT_SECONDS + FALLBACK_SECONDS.script);
  });
  test('retries absent or out of range count as validate-input takes them (0; at most 3)', () => {
    expect(leaseSecondsFor({ ...base, preScript: { ...base.preScript, retries: 9 } }))
      .toBe(leaseSecondsFor({ ...base, preScript: { ...base.preScript, retries: 3 } }));
  });
});
