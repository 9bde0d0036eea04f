import * as iam from 'aws-cdk-lib/aws-iam';
import { RUN_REMOTE_SCRIPT_DOCUMENT } from '../../contract/status';
import { FunctionGrants, GrantContext, onTaggedInstances, unscoped } from '../grants';

/**
 * preflight-instance (issue 15, a dry run) reads, asks EC2 with DryRun, and sends the script probe:
 * - DescribeInstances, DescribeInstanceInformation, ListCommandInvocations: describe/list calls without resource-level
 *   permissions;
 * - StopInstances / StartInstances on tagged instances only, the same statement as stop-instance's and start-instance's:
 *   EC2's DryRun answers for the caller's own permissions, so the check is only meaningful with the acting roles'
 *   statement. The handler only ever sends them with `DryRun: true` (tested);
 * - SendCommand of AWS-RunRemoteScript on tagged instances (the probe: a download and a file test, never the script);
 * - DescribeBackupVault on the configured vault only.
 * No journal, lease or waiting-task item: a dry run writes nothing but its audit entries (record-instance does).
 */
export function preflightInstanceGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: {},
    statements: [
      unscoped(['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation', 'ssm:ListCommandInvocations']),
      onTaggedInstances(ctx, 'DryRunStopStartOfTaggedInstancesOnly', ['ec2:StopInstances', 'ec2:StartInstances']),
      new iam.PolicyStatement({
        sid: 'ProbeWithTheScriptDocument',
        actions: ['ssm:SendCommand'],
        resources: [ctx.stack.formatArn({ service: 'ssm', account: '', resource: 'document', resourceName: RUN_REMOTE_SCRIPT_DOCUMENT })],
      }),
      onTaggedInstances(ctx, 'ProbeTaggedInstancesOnly', ['ssm:SendCommand']),
      new iam.PolicyStatement({
        sid: 'DescribeTheBackupVaultOnly',
        actions: ['backup:DescribeBackupVault'],
        resources: [ctx.backupVault.backupVaultArn],
      }),
    ],
  };
}
