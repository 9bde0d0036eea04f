import { App, Duration, Errors, Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BackupScript, PrePostScriptBackup, PrePostScriptBackupCentralAudit, PrePostScriptBackupProps, PreScriptFailurePolicy, ReleaseTiming } from '../../src';
import { PropValidationError } from '../../src/validation/errors';
import { WAITS_CONTEXT_KEY } from '../../src/workflow/waiting-task';
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
    ['concurrency zero', { maxConcurrency: 0 }, /maxConcurrency must be a whole number from 1 to 10000; got 0/],
    ['concurrency too high', { maxConcurrency: 10001 }, /maxConcurrency must be a whole number from 1 to 10000; got 10001/],
    ['concurrency not whole', { maxConcurrency: 2.5 }, /maxConcurrency must be a whole number from 1 to 10000; got 2.5/],
    ['output prefix with leading slash', { scriptOutputKeyPrefix: '/logs' }, /scriptOutputKeyPrefix '\/logs' must not start with '\/'/],
    ['reserved recovery point tag', { recoveryPointTags: { 'aws:owner': 'x' } }, /recoveryPointTags key 'aws:owner'/],
    ['audit retention under a day', { auditRetention: Duration.hours(2) }, /auditRetention must be at least 1 day/],
    ['a freeze budget over 4 hours, releasing at the job\'s end', { releaseAt: ReleaseTiming.JOB_COMPLETION, freezeBudget: Duration.hours(5) }, /freezeBudget must be between 1 minute and 4 hours/],
    ['a freeze budget over 4 hours', { releaseAt: ReleaseTiming.POINT_IN_TIME, freezeBudget: Duration.hours(5) }, /freezeBudget must be between 1 minute and 4 hours/],
    ['a freeze budget under a minute', { releaseAt: ReleaseTiming.POINT_IN_TIME, freezeBudget: Duration.seconds(30) }, /freezeBudget must be between 1 minute and 4 hours/],
    ['a pre-script failure policy without a pre-script', { onPreScriptFailure: PreScriptFailurePolicy.BACKUP_CRASH_CONSISTENT },
      /onPreScriptFailure applies to a failed pre-backup script, but preScript is not set; set preScript or remove onPreScriptFailure/],
  ];

  test.each(cases)('%s', (_name, props, message) => {
    expect(() => consumerStack(props)).toThrow(message);
  });

  /** Builds the construct in a fresh stack; returns what it threw and what it had created by then. */
  function attempt(build: (stack: Stack) => void, context: Record<string, unknown> = {}) {
    const stack = new Stack(new App({ context }), 'Consumer', { env: { account: '123456789012', region: 'eu-west-1' } });
    let error: unknown;
    try {
      build(stack);
    } catch (e) {
      error = e;
    }
    const created = stack.node.tryFindChild('AppBackup')?.node.findAll().length ?? 0;
    return { error, created: created - 1 /* the construct itself */ };
  }

  const propOf: Record<string, string> = {
    'empty tag key': 'tagKey',
    'empty tag value': 'tagValue',
    'runPreScript without preScript': 'runPreScript',
    'concurrency zero': 'maxConcurrency',
    'audit retention under a day': 'auditRetention',
    'a freeze budget over 4 hours': 'freezeBudget',
    'a pre-script failure policy without a pre-script': 'onPreScriptFailure',
  };
  const everyCase: [string, (stack: Stack) => PrePostScriptBackupProps, string | undefined][] = [
    ...cases.map(([name, props]): [string, (stack: Stack) => PrePostScriptBackupProps, string | undefined] => [name, () => props, propOf[name]]),
    ['a topic with notifications off', stack => ({ notificationTopic: new sns.Topic(stack, 'T'), enableNotifications: false }), 'notificationTopic'],
    ['an organization that is an account id', () => ({ allowStartFromOrganization: '123456789012' }), 'allowStartFromOrganization'],
    ['a vault lock on a vault of the user', stack => ({
      backupVault: backup.BackupVault.fromBackupVaultName(stack, 'V', 'mine'), backupVaultLock: { minRetention: Duration.days(1) },
    }), 'backupVaultLock'],
    ['copyDeleteAfter without copyToVault', () => ({ copyDeleteAfter: Duration.days(3) }), 'copyDeleteAfter'],
  ];

  test.each(everyCase)('%s: a typed, scoped error, before any resource is created', (_name, props, prop) => {
    const { error, created } = attempt(stack => new PrePostScriptBackup(stack, 'AppBackup', props(stack)));
    expect(error).toBeInstanceOf(PropValidationError);
    const e = error as PropValidationError;
    expect(e.constructPath).toBe('Consumer/AppBackup');
    expect(e.message).toMatch(/^PrePostScriptBackup 'Consumer\/AppBackup': /);
    expect(e.message).toContain(e.prop);
    if (prop) expect(e.prop).toBe(prop);
    expect(Errors.isValidationError(e)).toBe(true);
    expect(created).toBe(0);
  });

  test('an invalid waits context value is refused before any resource is created', () => {
    const { error, created } = attempt(stack => new PrePostScriptBackup(stack, 'AppBackup', {}), { [WAITS_CONTEXT_KEY]: 'poll' });
    expect(error).toBeInstanceOf(PropValidationError);
    expect((error as PropValidationError).prop).toBe(WAITS_CONTEXT_KEY);
    expect(created).toBe(0);
  });

  test.each([
    ['an organizationId that is not one', (_stack: Stack) => ({ organizationId: 'o-short' }), 'organizationId'],
    ['a topic with notifications off', (stack: Stack) => ({ organizationId: 'o-a1b2c3d4e5', notificationTopic: new sns.Topic(stack, 'T'), enableNotifications: false }), 'notificationTopic'],
    ['the default bus', (_stack: Stack) => ({ organizationId: 'o-a1b2c3d4e5', eventBusName: 'default' }), 'eventBusName'],
    ['a bus name with a slash', (_stack: Stack) => ({ organizationId: 'o-a1b2c3d4e5', eventBusName: 'a/b' }), 'eventBusName'],
    ['a bus name with a space', (_stack: Stack) => ({ organizationId: 'o-a1b2c3d4e5', eventBusName: 'a b' }), 'eventBusName'],
  ])('central audit, %s: a typed, scoped error, before any resource is created', (_name, props, prop) => {
    const { error, created } = attempt(stack => new PrePostScriptBackupCentralAudit(stack, 'AppBackup', props(stack)));
    expect(error).toBeInstanceOf(PropValidationError);
    expect((error as PropValidationError).prop).toBe(prop);
    expect((error as Error).message).toMatch(/^PrePostScriptBackupCentralAudit 'Consumer\/AppBackup': /);
    expect(Errors.isValidationError(error)).toBe(true);
    expect(created).toBe(0);
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
