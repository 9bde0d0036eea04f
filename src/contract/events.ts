/**
 * The AWS state-change events that resume waiting tasks, and which wait each one concerns. The EventBridge rules
 * (src/triggers/state-change-rules.ts) match exactly these; resume-wait maps an event to its wait with `waitOf`.
 */
import { SSM_FINAL_DETAILS_EVENT_SPELLING, SSM_TERMINAL_STATUSES } from './status';
import { scriptResourceId, type WaitKind } from './waits';

/** EC2: an instance changed state. */
export const EC2_STATE_CHANGE = { source: 'aws.ec2', detailType: 'EC2 Instance State-change Notification' } as const;
/** SSM Run Command: one instance's invocation of a command changed status. */
export const SSM_INVOCATION_STATUS_CHANGE = { source: 'aws.ssm', detailType: 'EC2 Command Invocation Status-change Notification' } as const;
/** AWS Backup: a backup job changed state. */
export const BACKUP_JOB_STATE_CHANGE = { source: 'aws.backup', detailType: 'Backup Job State Change' } as const;
/** AWS Backup: a copy job changed state. */
export const COPY_JOB_STATE_CHANGE = { source: 'aws.backup', detailType: 'Copy Job State Change' } as const;

/** EC2 states that end a stop or a start wait (the event of any other state resumes nothing). */
export const EC2_WAIT_STATES: Readonly<Record<string, WaitKind>> = { stopped: 'stop', running: 'start' };

/** Invocation statuses that end a script (as the events spell them; derived from status.ts, where they are defined). */
export const SSM_FINAL_EVENT_STATUSES: readonly string[] = [
  ...SSM_TERMINAL_STATUSES,
  ...Object.values(SSM_FINAL_DETAILS_EVENT_SPELLING).filter((s): s is string => s !== undefined),
];

/** An EventBridge event as Lambda receives it. */
export interface StateChangeEvent {
  readonly 'source'?: string;
  readonly 'detail-type'?: string;
  readonly 'detail'?: Record<string, unknown>;
}

/** The wait an event concerns: its kind and resource id, or undefined for an event no wait listens to. */
export function waitOf(event: StateChangeEvent): { kind: WaitKind; resourceId: string } | undefined {
  const detail = event.detail ?? {};
  const text = (key: string): string => (typeof detail[key] === 'string' ? detail[key] as string : '');
  const is = (e: { source: string; detailType: string }) => event.source === e.source && event['detail-type'] === e.detailType;

  if (is(EC2_STATE_CHANGE)) {
    const kind = EC2_WAIT_STATES[text('state')];
    return kind && text('instance-id') ? { kind, resourceId: text('instance-id') } : undefined;
  }
  if (is(SSM_INVOCATION_STATUS_CHANGE)) {
    return text('command-id') && text('instance-id')
      ? { kind: 'script', resourceId: scriptResourceId(text('command-id'), text('instance-id')) } : undefined;
  }
  if (is(BACKUP_JOB_STATE_CHANGE)) {
    return text('backupJobId') ? { kind: 'backup', resourceId: text('backupJobId') } : undefined;
  }
  if (is(COPY_JOB_STATE_CHANGE)) {
    return text('copyJobId') ? { kind: 'copy', resourceId: text('copyJobId') } : undefined;
  }
  return undefined;
}
