import * as iam from 'aws-cdk-lib/aws-iam';
import { acting, FunctionGrants, GrantContext, passBackupRole, unscoped } from '../grants';

/** start-backup-job starts a job into the vault with the backup role, journaled, and finds a job whose start answer was lost. */
export function startBackupJobGrants(ctx: GrantContext): FunctionGrants {
  return acting(ctx, [
    ...(ctx.waitOnEvents ? [unscoped(['backup:DescribeBackupJob'])] : []),
    // Recovering the job of a start whose answer was lost (src/lambda-shared/job-start.ts): ListBackupJobs supports no
    // resource-level permission (Service Authorization Reference, AWS Backup: no resource type), hence '*'.
    unscoped(['backup:ListBackupJobs']),
    new iam.PolicyStatement({
      sid: 'BackUpIntoTheVault',
      actions: ['backup:StartBackupJob'],
      resources: [ctx.backupVault.backupVaultArn],
    }),
    passBackupRole(ctx.backupRole),
  ]);
}
