import { FunctionGrants, unscoped } from '../grants';

/** describe-backup-job (polled waits only): a describe call, no resource-level permissions. */
export function describeBackupJobGrants(): FunctionGrants {
  return { environment: {}, statements: [unscoped(['backup:DescribeBackupJob'])] };
}
