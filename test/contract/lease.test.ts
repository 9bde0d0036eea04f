import { leaseKey } from '../../src/contract/audit-schema';
import { LEASE_MARGIN_SECONDS, leaseSecondsFor } from '../../src/contract/lease';
import { SETTINGS } from '../helpers/handler-fixtures';

describe('leases', () => {
  test('the key of an instance\'s lease', () => {
    expect(leaseKey('i-0123456789abcdef0')).toBe('LEASE#i-0123456789abcdef0');
  });

  test('the duration bounds one instance chain: every bounded wait plus a margin', () => {
    // Scripts 600 + 300 and 300 + 300; stop and start 900 each; agent 60 + 900; backup 60 + 120 minutes + 900.
    const chain = 900 + 600 + 1800 + 960 + (3600 + 7200 + 900);
    // Waiting on events, each wait may notice its bound one fallback interval late: scripts 600 each, stop and
    // start 300 each, backup 900.
    const lateness = 2 * 600 + 300 + 300 + 900;
    expect(leaseSecondsFor(SETTINGS)).toBe(chain + lateness + LEASE_MARGIN_SECONDS);
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
