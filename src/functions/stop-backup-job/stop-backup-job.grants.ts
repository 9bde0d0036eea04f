import { FunctionGrants, GrantContext, unscoped } from '../grants';

/**
 * stop-backup-job: StopBackupJob only. The Service Authorization Reference lists no resource type and no condition key
 * for backup:StopBackupJob (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbackup.html), so
 * IAM accepts it only on `*`; the workflow gives the function the id of the job this run started, nothing else.
 */
export function stopBackupJobGrants(_ctx: GrantContext): FunctionGrants {
  return { environment: {}, statements: [unscoped(['backup:StopBackupJob'])] };
}
