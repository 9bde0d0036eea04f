import * as iam from 'aws-cdk-lib/aws-iam';
import { FunctionGrants, GrantContext, onTaggedInstances, scriptDocumentArns, unscoped } from '../grants';

/**
 * preflight-instance (issue 15, a dry run) reads, asks EC2 with DryRun, and sends the script probe:
 * - DescribeInstances, DescribeInstanceInformation, ListCommandInvocations: describe/list calls without resource-level
 *   permissions;
 * - StopInstances / StartInstances on tagged instances only, the same statement as stop-instance's and start-instance's:
 *   EC2's DryRun answers for the caller's own permissions, so the check is only meaningful with the acting roles'
 *   statement. The handler only ever sends them with `DryRun: true` (tested);
 * - SendCommand on tagged instances of AWS-RunRemoteScript (the probe of an S3 script: a download and a file test, never
 *   the script) and of each configured document following DLM's convention (its `command=dry-run`);
 * - DescribeBackupVault on the configured vault only.
 * No journal, lease or waiting-task item: a dry run writes nothing but its audit entries (record-instance does).
 */
export function preflightInstanceGrants(ctx: GrantContext): FunctionGrants {
  // A document without DLM's convention has no step that runs nothing: it is not probed, nor granted.
  const probeDocuments = scriptDocumentArns(ctx, (dlmConvention) => dlmConvention);
  return {
    environment: {},
    statements: [
      unscoped(['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation', 'ssm:ListCommandInvocations']),
      onTaggedInstances(ctx, 'DryRunStopStartOfTaggedInstancesOnly', ['ec2:StopInstances', 'ec2:StartInstances']),
      ...(probeDocuments.length > 0 ? [
        new iam.PolicyStatement({ sid: 'ProbeWithTheScriptDocument', actions: ['ssm:SendCommand'], resources: probeDocuments }),
        onTaggedInstances(ctx, 'ProbeTaggedInstancesOnly', ['ssm:SendCommand']),
      ] : []),
      new iam.PolicyStatement({
        sid: 'DescribeTheBackupVaultOnly',
        actions: ['backup:DescribeBackupVault'],
        resources: [ctx.backupVault.backupVaultArn],
      }),
    ],
  };
}
