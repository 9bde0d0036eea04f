/**
 * The consumer stacks the independent scanners (checkov, cfn-lint) run on: test/scanners/run.sh synthesizes this
 * app and scans every template it writes.
 *
 * `Consumer`: a PrePostScriptBackup with every option on, its own customer-managed key (`encryptionKey`) and a VPC
 * included, as a consumer writes it. What the consumer brings from elsewhere (the VPC, the output bucket, the vault
 * copies go to, the central bus) is imported, so the only resources in the template are the construct's and the
 * consumer's key. `ConsumerWithoutKey`: the same without the key and the VPC (the AWS managed keys, no VPC).
 * `Central`: a PrePostScriptBackupCentralAudit with notifications on.
 *
 * Usage: ts-node --project tsconfig.dev.json test/scanners/app.ts <output directory>
 */
import * as path from 'path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BackupScript, PrePostScriptBackup, PrePostScriptBackupCentralAudit, PrePostScriptBackupProps } from '../../src';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const FIXTURES = path.join(__dirname, '..', 'fixtures');

export function scannedApp(outdir: string): App {
  const app = new App({ outdir });
  const env = { account: ACCOUNT, region: REGION };

  const consumer = new Stack(app, 'Consumer', { env });
  const key = new kms.Key(consumer, 'BackupKey', {
    description: 'The platform team\'s customer-managed key for the pre/post-script backup',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const vpc = ec2.Vpc.fromVpcAttributes(consumer, 'Vpc', {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  });
  new PrePostScriptBackup(consumer, 'AppBackup', { ...everyOption(consumer), vpc, encryptionKey: key });

  // The same without the key and the VPC: the explanations that only apply without them.
  const withoutKey = new Stack(app, 'ConsumerWithoutKey', { env });
  new PrePostScriptBackup(withoutKey, 'AppBackup', everyOption(withoutKey));

  const central = new Stack(app, 'Central', { env });
  new PrePostScriptBackupCentralAudit(central, 'BackupAudit', {
    organizationId: 'o-a1b2c3d4e5',
    eventBusName: 'backup-runs',
    enableNotifications: true,
  });
  return app;
}

/** Every option of the construct but `vpc` and `encryptionKey`; what it imports is imported into `stack`. */
function everyOption(stack: Stack): PrePostScriptBackupProps {
  return {
    tagKey: 'backup-job-pre-post-script',
    tagValue: 'true',
    preScript: BackupScript.fromAsset(path.join(FIXTURES, 'freeze.sh')),
    postScript: BackupScript.fromAsset(path.join(FIXTURES, 'thaw.sh')),
    runPreScript: true,
    runPostScript: true,
    stopInstances: true,
    schedule: events.Schedule.cron({ hour: '2', minute: '0' }),
    recoveryPointTags: { team: 'platform' },
    backupDeleteAfter: Duration.days(365),
    backupStartWindow: Duration.hours(2),
    backupCompletionWindow: Duration.hours(6),
    backupVaultLock: { minRetention: Duration.days(7), maxRetention: Duration.days(365) },
    copyToVault: backup.BackupVault.fromBackupVaultArn(stack, 'DrVault', `arn:aws:backup:us-west-2:${ACCOUNT}:backup-vault:dr`),
    copyDeleteAfter: Duration.days(90),
    windowsVss: true,
    scriptOutputBucket: s3.Bucket.fromBucketName(stack, 'ScriptOutput', 'platform-script-output'),
    scriptOutputKeyPrefix: 'backups',
    maxConcurrency: 20,
    auditRetention: Duration.days(400),
    enableNotifications: true,
    notifyOnSuccess: true,
    forwardRunSummariesTo: events.EventBus.fromEventBusArn(stack, 'CentralBus', `arn:aws:events:${REGION}:210987654321:event-bus/backup-runs`),
    allowStartFromOrganization: 'o-a1b2c3d4e5',
    createDashboard: true,
    logRetention: logs.RetentionDays.TWO_YEARS,
  };
}

if (require.main === module) {
  const outdir = process.argv[2];
  if (!outdir) {
    throw new Error('usage: app.ts <output directory>');
  }
  scannedApp(outdir).synth();
}
