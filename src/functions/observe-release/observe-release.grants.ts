import { JOURNAL_KEY_PREFIX, SNAPSHOT_VIEW_KEY_PREFIX } from '../../contract/audit-schema';
import { FunctionGrants, GrantContext, itemsUnder, unscoped } from '../grants';

/**
 * observe-release: reads the instance journal (the backup job's id: JOURNAL#* items, GetItem only), keeps the run's
 * shared snapshot view (SNAPVIEW#* items only: registrations, the refresh claims, what a refresh saw; see
 * src/lambda-shared/snapshot-view.ts) and makes four describe calls. None of those has a resource type in the Service
 * Authorization Reference (backup:DescribeBackupJob: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbackup.html ;
 * ec2:DescribeInstances, ec2:DescribeImages, ec2:DescribeSnapshots: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html),
 * so IAM accepts them only on `*` (by AWS's design, not by choice); they read, never change anything.
 */
export function observeReleaseGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: { AUDIT_TABLE_NAME: ctx.auditTable.tableName },
    statements: [
      itemsUnder(ctx, JOURNAL_KEY_PREFIX, 'ReadThisRunsJournalOnly', ['dynamodb:GetItem']),
      itemsUnder(ctx, SNAPSHOT_VIEW_KEY_PREFIX, 'KeepTheRunsSnapshotViewOnly', [
        'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem',
      ]),
      unscoped(['backup:DescribeBackupJob', 'ec2:DescribeInstances', 'ec2:DescribeImages', 'ec2:DescribeSnapshots']),
    ],
  };
}
