import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PrePostScriptBackupCentralAudit, PrePostScriptBackupCentralAuditProps } from '../../src';
import type { RunSummaryDetail, RunSummaryFailure } from '../../src/contract/run-summary-event';
import { RUN_SUMMARY_DETAIL_TYPE, RUN_SUMMARY_SOURCE } from '../../src/contract/run-summary-event';

export const CENTRAL_ACCOUNT = '999988887777';
export const CENTRAL_REGION = 'us-east-1';
export const ORG_ID = 'o-a1b2c3d4e5';
/** A member account of the organization, and its run's Region. */
export const MEMBER_ACCOUNT = '111122223333';
export const MEMBER_REGION = 'eu-west-1';

/** A central stack as a consumer writes it, holding one PrePostScriptBackupCentralAudit. */
export function centralStack(
  props: Partial<PrePostScriptBackupCentralAuditProps> = {},
  app = new App(),
): { stack: Stack; central: PrePostScriptBackupCentralAudit } {
  const stack = new Stack(app, 'Central', { env: { account: CENTRAL_ACCOUNT, region: CENTRAL_REGION } });
  const central = new PrePostScriptBackupCentralAudit(stack, 'BackupAudit', { organizationId: ORG_ID, ...props });
  return { stack, central };
}

/** Every option on: notifications on a topic of the construct's own. */
export function everyOption(extra: Partial<PrePostScriptBackupCentralAuditProps> = {}): Partial<PrePostScriptBackupCentralAuditProps> {
  return { enableNotifications: true, eventBusName: 'pre-post-script-backup-runs', ...extra };
}

export function centralTemplate(props: Partial<PrePostScriptBackupCentralAuditProps> = {}): Template {
  return Template.fromStack(centralStack(props).stack);
}

export function failure(instanceId: string, extra: Partial<RunSummaryFailure> = {}): RunSummaryFailure {
  return {
    instanceId,
    failureMessage: 'PreBackupScript: Failed (exit code 1): fsfreeze: /data: Device or resource busy',
    preBackupScriptStatus: 'Failed',
    stopEc2InstanceStatus: 'NotRun: earlier step failed',
    backupJobStatus: 'NotRun: earlier step failed',
    startEc2InstanceStatus: 'NotRun: earlier step failed',
    postBackupScriptStatus: 'Success',
    ...extra,
  };
}

export function executionArn(account = MEMBER_ACCOUNT, region = MEMBER_REGION, name = 'run-1'): string {
  return `arn:aws:states:${region}:${account}:execution:AppBackupStateMachine1A2B3C4D-x1y2z3:${name}`;
}

/** A run summary detail as the forwarding side sends it. */
export function summaryDetail(extra: Partial<RunSummaryDetail> = {}): RunSummaryDetail {
  return {
    executionArn: executionArn(),
    account: MEMBER_ACCOUNT,
    region: MEMBER_REGION,
    status: 'SUCCEEDED',
    startTime: '2025-01-15T02:00:00.000Z',
    endTime: '2025-01-15T02:41:07.000Z',
    instanceCount: 4,
    succeededCount: 4,
    failedCount: 0,
    excludedCount: 0,
    failures: [],
    failuresTruncated: false,
    message: '',
    ...extra,
  };
}

/** The run summary event as EventBridge delivers it to the rule's target. `account` is the sender's account. */
export function summaryEvent(detail: unknown = summaryDetail(), sender = MEMBER_ACCOUNT): Record<string, unknown> {
  return {
    'version': '0',
    'id': '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': RUN_SUMMARY_DETAIL_TYPE,
    'source': RUN_SUMMARY_SOURCE,
    'account': sender,
    'time': '2025-01-15T02:41:08Z',
    'region': CENTRAL_REGION,
    'resources': [],
    detail,
  };
}
