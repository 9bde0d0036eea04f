// Integration test: one real run of PrePostScriptBackup, end to end, on one EC2 instance.
//
// `npx projen integ:snapshot` (part of `npx projen test`) only compares a fresh synthesis with the committed
// snapshot: no AWS account is needed. A real run deploys this app, starts one execution and checks the result:
//
//   npx integ-runner --directory test/integ --force   (AWS credentials, a bootstrapped account and region)
//
// What a run proves: the SSM agent is reachable, freeze.sh runs through SSM on the instance, the instance is
// stopped, AWS Backup completes a job into the construct's vault, the instance is started again, thaw.sh runs,
// the execution SUCCEEDS and its audit record says so for the instance.
//
// What stays after the stack is destroyed (retained by design, see docs/design.md): the backup vault and its KMS key,
// the recovery point (an AMI with its EBS snapshots; it expires after one day, then the vault can be deleted),
// the audit table (its items expire after one day), the log groups and the logs KMS key.
import * as path from 'path';
import { ExpectedResult, IApiCall, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, CfnResource, Duration, Stack, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { BackupScript, PrePostScriptBackup } from '../../src';

const TAG_KEY = 'backup-job-pre-post-script';
const TAG_VALUE = 'true';

const app = new App();
const stack = new Stack(app, 'PrePostScriptBackupInteg', {
  description: 'Integration test of cdk-pre-post-script-backup: one instance, pre/post scripts, stop, backup',
});

// A public subnet and no NAT gateway: the instance reaches SSM and S3 through the internet gateway.
const vpc = new ec2.Vpc(stack, 'Vpc', {
  maxAzs: 1,
  natGateways: 0,
  subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
});

const role = new iam.Role(stack, 'InstanceRole', {
  assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
  managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
});

// The fixtures freeze and thaw /data, so the instance gets a small data volume mounted there. The instance
// signals CloudFormation only once /data is mounted: the stack (and so the test) starts no sooner.
const userData = ec2.UserData.forLinux();
const instance = new ec2.Instance(stack, 'Instance', {
  vpc,
  vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
  instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MICRO),
  machineImage: ec2.MachineImage.latestAmazonLinux2023(),
  role,
  userData,
  requireImdsv2: true,
  blockDevices: [{
    deviceName: '/dev/sdf',
    volume: ec2.BlockDeviceVolume.ebs(1, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true }),
  }],
  resourceSignalTimeout: Duration.minutes(15),
});
userData.addSignalOnExitCommand(instance);
userData.addCommands(
  'set -euo pipefail',
  '[ -x /opt/aws/bin/cfn-signal ] || dnf install -y aws-cfn-bootstrap',
  // Amazon Linux names the NVMe device of /dev/sdf by that name too (ec2-utils udev rules).
  'for i in $(seq 1 60); do [ -e /dev/sdf ] && break; sleep 2; done',
  'blkid /dev/sdf || mkfs -t xfs /dev/sdf',
  'mkdir -p /data',
  'grep -q " /data " /etc/fstab || echo "/dev/sdf /data xfs defaults,nofail 0 2" >> /etc/fstab',
  'mount -a',
  'mountpoint /data',
);
// The tag that selects the instance; the construct backs up every running instance carrying it.
Tags.of(instance).add(TAG_KEY, TAG_VALUE);

const backup = new PrePostScriptBackup(stack, 'Backup', {
  tagKey: TAG_KEY,
  tagValue: TAG_VALUE,
  preScript: BackupScript.fromAsset(path.join(__dirname, '..', 'fixtures', 'freeze.sh')),
  postScript: BackupScript.fromAsset(path.join(__dirname, '..', 'fixtures', 'thaw.sh')),
  stopInstances: true,
  // Keep what the test leaves behind short-lived: the recovery point, the audit items, the logs.
  backupDeleteAfter: Duration.days(1),
  auditRetention: Duration.days(1),
  logRetention: logs.RetentionDays.ONE_DAY,
});
backup.grantInstanceAccess(role);

const integ = new IntegTest(app, 'PrePostScriptBackupIntegTest', {
  testCases: [stack],
  // The vault, its key, the audit table and the log groups are retained by design; the rest is destroyed.
  cdkCommandOptions: {
    destroy: { args: { force: true } },
  },
  // The snapshot's asset bodies are not committed (.gitignore), so it cannot be deployed as the "before" state.
  stackUpdateWorkflow: false,
});

const instanceArn = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: instance.instanceId });

// 1. The SSM agent is online (a script step fails an instance whose agent is not).
const agentOnline = integ.assertions.awsApiCall('SSM', 'describeInstanceInformation', {
  Filters: [{ Key: 'InstanceIds', Values: [instance.instanceId] }],
}).expect(ExpectedResult.objectLike({
  InstanceInformationList: Match.arrayWith([Match.objectLike({ InstanceId: instance.instanceId, PingStatus: 'Online' })]),
})).waitForAssertions({ totalTimeout: Duration.minutes(20), interval: Duration.seconds(30) });

// 2. Start one run with the empty input: the job exactly as the props configured it.
const start = integ.assertions.awsApiCall('SFN', 'startExecution', {
  stateMachineArn: backup.stateMachine.stateMachineArn,
  input: '{}',
});
const executionArn = start.getAttString('executionArn');

// 3. The run ends SUCCEEDED. CloudFormation gives a custom resource one hour at most (ServiceTimeout), so the
// two-hour bound is split: first the backup job completes (the long part), then the execution succeeds.
const backupJobDone = integ.assertions.awsApiCall('Backup', 'listBackupJobs', {
  ByResourceArn: instanceArn,
  ByBackupVaultName: backup.backupVault.backupVaultName,
}).expect(ExpectedResult.objectLike({
  BackupJobs: Match.arrayWith([Match.objectLike({ State: 'COMPLETED' })]),
})).waitForAssertions({ totalTimeout: Duration.minutes(55), interval: Duration.minutes(1) });

const succeeded = integ.assertions.awsApiCall('SFN', 'describeExecution', { executionArn })
  .expect(ExpectedResult.objectLike({ status: 'SUCCEEDED' }))
  .waitForAssertions({ totalTimeout: Duration.minutes(55), interval: Duration.minutes(1) });

// 4. The audit record tells the truth about every step of the instance.
const audited = integ.assertions.awsApiCall('DynamoDB', 'getItem', {
  TableName: backup.auditTable.tableName,
  Key: { SM_Execution_ID: { S: executionArn } },
  ConsistentRead: true,
}).expect(ExpectedResult.objectLike({
  Item: {
    Run_Status: { S: 'SUCCEEDED' },
    InstanceCount: { N: '1' },
    FailedCount: { N: '0' },
    Workflow_Overall_Status: {
      L: Match.arrayWith([{
        M: Match.objectLike({
          InstanceId: { S: instance.instanceId },
          PreBackupScriptStatus: { S: 'Success' },
          StopEc2InstanceStatus: { S: 'Success' },
          BackupJobStatus: { S: 'COMPLETED' },
          StartEc2InstanceStatus: { S: 'Success' },
          PostBackupScriptStatus: { S: 'Success' },
          FailureMessage: { S: '' },
          Outcome: { S: 'SUCCEEDED' },
        }),
      }]),
    },
  },
}));

// 5. The recovery point of the instance is in the vault.
const recoveryPoint = integ.assertions.awsApiCall('Backup', 'listRecoveryPointsByBackupVault', {
  BackupVaultName: backup.backupVault.backupVaultName,
  ByResourceArn: instanceArn,
}).expect(ExpectedResult.objectLike({
  RecoveryPoints: Match.arrayWith([Match.objectLike({ ResourceArn: instanceArn, Status: 'COMPLETED' })]),
}));

// 6. The instance the run stopped is running again.
const running = integ.assertions.awsApiCall('EC2', 'describeInstances', { InstanceIds: [instance.instanceId] })
  .expect(ExpectedResult.objectLike({
    Reservations: [{ Instances: [Match.objectLike({ State: Match.objectLike({ Name: 'running' }) })] }],
  }));

agentOnline.next(start).next(backupJobDone).next(succeeded).next(audited).next(recoveryPoint).next(running);

// integ-tests salts every assertion with Date.now() so that it runs again when the assertion stack is updated in
// place. integ-runner deploys both stacks afresh and destroys them after every run, so a fixed salt loses nothing
// and keeps the committed snapshot free of timestamps (a regenerated snapshot differs only where the app does).
for (const call of [agentOnline, start, backupJobDone, succeeded, audited, recoveryPoint, running]) {
  pinSalt(call);
}

function pinSalt(call: IApiCall): void {
  const resource = call.node.findChild('Default').node.defaultChild as CfnResource;
  resource.addPropertyOverride('salt', 'fixed');
}
