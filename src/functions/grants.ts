import { Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { JOURNAL_KEY_PREFIX, LEASE_KEY_PREFIX, WAIT_KEY_PREFIX } from '../contract/audit-schema';
import { ConstructSettings } from '../contract/settings';
import { RUN_REMOTE_SCRIPT_DOCUMENT } from '../contract/status';
import { documentArn } from '../scripts/document-arn';

/**
 * The building blocks of the functions' own grants (`src/functions/<name>/<name>.grants.ts`): each function's module
 * says which environment and which IAM statements its job needs, the way aws-cdk-lib's tasks own their policies;
 * `WorkflowHandlers` creates the functions and gives each its grants. Construct-side: never loads handler code.
 */

/** What the grants of the workflow's functions are made of. */
export interface GrantContextProps {
  /** What validate-input checks execution input against. */
  readonly settings: ConstructSettings;
  readonly tagKey: string;
  readonly tagValue: string;
  readonly auditTable: dynamodb.ITable;
  readonly auditRunIndexName: string;
  /** Days after which audit items expire; 0 keeps them. */
  readonly auditRetentionDays: number;
  readonly backupVault: backup.IBackupVault;
  readonly backupRole: iam.IRole;
  /** The vault recovery points are copied to. @default - no copies */
  readonly copyVault?: backup.IBackupVault;
  /** The bucket scripts write their output to. @default - none */
  readonly scriptOutputBucket?: s3.IBucket;
  /** Whether the steps that wait register task tokens (src/contract/waits.ts) instead of being polled. */
  readonly waitOnEvents: boolean;
}

/** The grant context: the props and the stack the functions live in. */
export interface GrantContext extends GrantContextProps {
  readonly stack: Stack;
}

/** One function's grants: its environment and the statements of its role's policy. */
export interface FunctionGrants {
  readonly environment: { [key: string]: string };
  readonly statements: iam.PolicyStatement[];
}

/** Actions IAM only accepts on `*` (describe/list calls and command-id based calls). */
export function unscoped(actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ actions, resources: ['*'] });
}

/** Actions on the audit table's items whose partition key starts with `prefix` only. */
export function itemsUnder(ctx: GrantContext, prefix: string, sid: string, actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions,
    resources: [ctx.auditTable.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${prefix}*`] } },
  });
}

/** The lease handlers touch lease items only (keys LEASE#<instance id>), never an audit record. */
export const leaseItemsOnly = (ctx: GrantContext, sid: string, actions: string[]) => itemsUnder(ctx, LEASE_KEY_PREFIX, sid, actions);

/**
 * With the waits on events, the steps that wait register their task token under WAIT#<kind>#<resource>: those
 * items only (the same key restriction as the leases).
 */
export const waitItemsOnly = (ctx: GrantContext, sid: string, actions: string[]) => itemsUnder(ctx, WAIT_KEY_PREFIX, sid, actions);

/** Waiting on events, the acting steps register their task tokens. */
export function registering(ctx: GrantContext): iam.PolicyStatement[] {
  return ctx.waitOnEvents
    ? [waitItemsOnly(ctx, 'RegisterWaitingTasksOnly', ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'])] : [];
}

/**
 * The steps that act on an instance (send a script, stop, start, start a backup or copy job) journal each action
 * before doing it and the id AWS answered (src/lambda-shared/journal.ts, docs/workflow.md): JOURNAL#<run>#<instance>
 * items only, in both wait modes.
 */
export function journaling(ctx: GrantContext): iam.PolicyStatement[] {
  return [itemsUnder(ctx, JOURNAL_KEY_PREFIX, 'JournalThisRunsActionsOnly', ['dynamodb:UpdateItem', 'dynamodb:GetItem'])];
}

/** The grants every acting step shares: its journal and, waiting on events, its task tokens. */
export function acting(ctx: GrantContext, statements: iam.PolicyStatement[]): FunctionGrants {
  return {
    environment: { AUDIT_TABLE_NAME: ctx.auditTable.tableName },
    statements: [...journaling(ctx), ...registering(ctx), ...statements],
  };
}

/** The environment of the functions that write audit records. */
export function auditEnvironment(ctx: GrantContext): { [key: string]: string } {
  return {
    AUDIT_TABLE_NAME: ctx.auditTable.tableName,
    AUDIT_RUN_INDEX_NAME: ctx.auditRunIndexName,
    AUDIT_RETENTION_DAYS: String(ctx.auditRetentionDays),
  };
}

/** Every instance of the account and Region. */
export function instanceArns(ctx: GrantContext): string {
  return ctx.stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
}

/** An action on the instances carrying the construct's tag only. */
export function onTaggedInstances(ctx: GrantContext, sid: string, actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions,
    resources: [instanceArns(ctx)],
    conditions: { StringEquals: { [`aws:ResourceTag/${ctx.tagKey}`]: ctx.tagValue } },
  });
}

/** Starting a backup or copy job passes the backup role: that role only, and only to AWS Backup. */
export function passBackupRole(backupRole: iam.IRole): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'PassTheBackupRoleToAwsBackupOnly',
    actions: ['iam:PassRole'],
    resources: [backupRole.roleArn],
    conditions: { StringEquals: { 'iam:PassedToService': 'backup.amazonaws.com' } },
  });
}

/** The describe calls of the looks at a resource (resume-wait, inspect-chain): no resource-level permissions. */
export function describeEverything(ctx: GrantContext): iam.PolicyStatement {
  return unscoped(['ec2:DescribeInstances', 'ssm:ListCommandInvocations', 'backup:DescribeBackupJob',
    ...(ctx.copyVault ? ['backup:DescribeCopyJob'] : [])]);
}

/**
 * The SSM documents a function may send for the configured scripts: AWS-RunRemoteScript for an S3 script (and when no
 * script is configured), each Command document by its own ARN (BackupScript.fromSsmDocument) when `documents` keeps it.
 * send-script sends every one; preflight-instance's probe only documents following DLM's convention (`command=dry-run`).
 */
export function scriptDocumentArns(ctx: GrantContext, documents: (dlmConvention: boolean) => boolean = () => true): string[] {
  const runRemoteScript = ctx.stack.formatArn({ service: 'ssm', account: '', resource: 'document', resourceName: RUN_REMOTE_SCRIPT_DOCUMENT });
  const scripts = [ctx.settings.preScript, ctx.settings.postScript].filter((s) => s !== undefined);
  const arns = scripts.flatMap((s) => (s.document
    ? (documents(s.document.dlmConvention) ? [documentArn(ctx.stack, s.document.name)] : [])
    : [runRemoteScript]));
  if (scripts.length === 0) {
    arns.push(runRemoteScript);
  }
  return [...new Set(arns)];
}
