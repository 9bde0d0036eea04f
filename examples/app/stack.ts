import * as path from 'path';
import { Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { BackupScript, PrePostScriptBackup, PrePostScriptBackupProps } from '../../src';

/** What the example varies: the three path toggles. */
export interface ExampleOptions {
  readonly runPreScript?: boolean;
  readonly runPostScript?: boolean;
  readonly stopInstances?: boolean;
}

/**
 * The example app's stack: a platform team's application-consistent backup of its database fleet,
 * written as a user would write it.
 */
export class ExampleBackupStack extends Stack {
  public readonly backup: PrePostScriptBackup;

  constructor(scope: Construct, id: string, options: ExampleOptions = {}, props?: StackProps) {
    super(scope, id, props);
    const backupProps: PrePostScriptBackupProps = {
      tagKey: 'backup-job-pre-post-script',
      tagValue: 'true',
      preScript: BackupScript.fromAsset(path.join(__dirname, 'scripts', 'freeze.sh')),
      postScript: BackupScript.fromAsset(path.join(__dirname, 'scripts', 'thaw.sh')),
      runPreScript: options.runPreScript,
      runPostScript: options.runPostScript,
      stopInstances: options.stopInstances ?? false,
      schedule: events.Schedule.cron({ hour: '2', minute: '0' }),
    };
    this.backup = new PrePostScriptBackup(this, 'AppBackup', backupProps);
  }
}
