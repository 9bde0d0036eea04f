import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { BackupScript, PrePostScriptBackup, PrePostScriptBackupProps } from '../../src';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');
export const fixture = (name: string) => path.join(FIXTURES, name);

/**
 * A stack as a consumer would write it, holding one PrePostScriptBackup. `props` may be a function of the stack, for
 * props that refer to resources of the consumer's stack (its own key, say).
 */
export function consumerStack(
  props: PrePostScriptBackupProps | ((stack: Stack) => PrePostScriptBackupProps) = {},
  app = new App(),
): { stack: Stack; backup: PrePostScriptBackup } {
  const stack = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'eu-west-1' } });
  const backup = new PrePostScriptBackup(stack, 'AppBackup', typeof props === 'function' ? props(stack) : props);
  return { stack, backup };
}

/** Every toggle on, both scripts, a schedule. */
export function fullProps(extra: PrePostScriptBackupProps = {}): PrePostScriptBackupProps {
  return {
    tagKey: 'backup-job-pre-post-script',
    tagValue: 'true',
    preScript: BackupScript.fromAsset(fixture('freeze.sh')),
    postScript: BackupScript.fromAsset(fixture('thaw.sh')),
    stopInstances: true,
    schedule: events.Schedule.cron({ hour: '2', minute: '0' }),
    ...extra,
  };
}

/** Every option of the construct on: the stack the compliance checks run on. */
export function everyOption(extra: PrePostScriptBackupProps = {}): PrePostScriptBackupProps {
  return fullProps({
    enableNotifications: true,
    notifyOnSuccess: true,
    createDashboard: true,
    windowsVss: true,
    recoveryPointTags: { team: 'platform' },
    backupVaultLock: { minRetention: Duration.days(7), maxRetention: Duration.days(365) },
    auditRetention: Duration.days(400),
    ...extra,
  });
}

export function template(props: PrePostScriptBackupProps = fullProps()): Template {
  return Template.fromStack(consumerStack(props).stack);
}
