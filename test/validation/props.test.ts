import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { BackupScript, PrePostScriptBackupProps } from '../../src';
import { consumerStack, fixture } from '../helpers/stacks';

describe('props validation: each error names the prop and says how to fix it', () => {
  const cases: [string, PrePostScriptBackupProps, RegExp][] = [
    ['empty tag key', { tagKey: '' }, /tagKey must be 1 to 128/],
    ['reserved tag key', { tagKey: 'aws:backup' }, /tagKey 'aws:backup' uses the reserved 'aws:' prefix/],
    ['tag key too long', { tagKey: 'k'.repeat(129) }, /tagKey must be 1 to 128 characters long; got 129/],
    ['tag key with bad characters', { tagKey: 'backup;rm' }, /tagKey 'backup;rm' has characters EC2 tags do not allow/],
    ['empty tag value', { tagValue: '' }, /tagValue must be 1 to 256/],
    ['tag value with bad characters', { tagValue: 'yes!' }, /tagValue 'yes!' has characters/],
    ['runPreScript without preScript', { runPreScript: true }, /runPreScript is true but no preScript is set/],
    ['runPostScript without postScript', { runPostScript: true }, /runPostScript is true but no postScript is set/],
    ['schedule every minute', { schedule: events.Schedule.rate(Duration.minutes(5)) }, /schedule 'rate\(5 minutes\)' runs more often than once an hour/],
    ['cron every minute', { schedule: events.Schedule.cron({ minute: '*/10' }) }, /schedule 'cron\(\*\/10 \* \* \* \? \*\)' runs several times an hour/],
    ['start window too short', { backupStartWindow: Duration.minutes(30) }, /backupStartWindow must be between 1 hour/],
    ['completion window too short', { backupCompletionWindow: Duration.minutes(10) }, /backupCompletionWindow must be between 1 hour and 100 days/],
    ['delete after a fraction of a day', { backupDeleteAfter: Duration.hours(36) }, /backupDeleteAfter must be a whole number of days/],
    ['cold storage, which EC2 recovery points do not support', { backupDeleteAfter: Duration.days(200), backupMoveToColdStorageAfter: Duration.days(7) },
      /backupMoveToColdStorageAfter is not supported: the recovery points of EC2 instances \(AMIs\) do not move to cold storage.*Remove it/],
    ['a one-time at() schedule, which EventBridge rules refuse', { schedule: events.Schedule.expression('at(2026-12-24T02:00:00)') },
      /schedule 'at\(2026-12-24T02:00:00\)' is a one-time at\(\.\.\.\) expression, which EventBridge rules do not accept.*events\.Schedule\.cron or events\.Schedule\.rate/],
    ['a schedule that is neither cron() nor rate()', { schedule: events.Schedule.expression('every day') }, /schedule 'every day' is not a rate\(\.\.\.\) or cron\(\.\.\.\) expression/],
    ['concurrency zero', { maxConcurrency: 0 }, /maxConcurrency must be a whole number from 1 to 1000; got 0/],
    ['concurrency too high', { maxConcurrency: 1001 }, /maxConcurrency must be a whole number from 1 to 1000; got 1001/],
    ['concurrency not whole', { maxConcurrency: 2.5 }, /maxConcurrency must be a whole number from 1 to 1000; got 2.5/],
    ['output prefix with leading slash', { scriptOutputKeyPrefix: '/logs' }, /scriptOutputKeyPrefix '\/logs' must not start with '\/'/],
    ['reserved recovery point tag', { recoveryPointTags: { 'aws:owner': 'x' } }, /recoveryPointTags key 'aws:owner'/],
    ['audit retention under a day', { auditRetention: Duration.hours(2) }, /auditRetention must be at least 1 day/],
  ];

  test.each(cases)('%s', (_name, props, message) => {
    expect(() => consumerStack(props)).toThrow(message);
  });

  test('valid props with every option synthesize', () => {
    expect(() => consumerStack({
      tagKey: 'Backup Group',
      tagValue: 'db-tier/primary',
      preScript: BackupScript.fromAsset(fixture('freeze.sh'), { timeout: Duration.minutes(5) }),
      postScript: BackupScript.fromAsset(fixture('thaw.sh')),
      runPostScript: true,
      stopInstances: true,
      schedule: events.Schedule.rate(Duration.hours(12)),
      backupDeleteAfter: Duration.days(120),
      backupStartWindow: Duration.hours(2),
      backupCompletionWindow: Duration.hours(4),
      windowsVss: true,
      recoveryPointTags: { team: 'platform' },
      maxConcurrency: 40,
      auditRetention: Duration.days(400),
    })).not.toThrow();
  });
});
