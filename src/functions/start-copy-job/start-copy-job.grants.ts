import { ArnFormat } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { acting, FunctionGrants, GrantContext, passBackupRole, unscoped } from '../grants';

/** start-copy-job copies a recovery point of this account with the backup role, journaled. */
export function startCopyJobGrants(ctx: GrantContext): FunctionGrants {
  return acting(ctx, [
    ...(ctx.waitOnEvents ? [unscoped(['backup:DescribeCopyJob'])] : []),
    // Recovering the copy job of a start whose answer was lost: ListCopyJobs has no resource type either, hence '*'.
    unscoped(['backup:ListCopyJobs']),
    new iam.PolicyStatement({
      sid: 'CopyRecoveryPointsOfThisAccount',
      actions: ['backup:StartCopyJob'],
      // EC2 recovery points are AMIs; AWS Backup names other recovery points in its own ARN format.
      resources: [
        ctx.stack.formatArn({ service: 'ec2', account: '', resource: 'image', resourceName: '*' }),
        ctx.stack.formatArn({ service: 'backup', resource: 'recovery-point', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      ],
    }),
    passBackupRole(ctx.backupRole),
  ]);
}
