/**
 * EventBridge envelopes of the state-change events the world emits, in the shapes AWS publishes on the default bus:
 * EC2 `EC2 Instance State-change Notification`, SSM `EC2 Command Invocation Status-change Notification`,
 * AWS Backup `Backup Job State Change` and `Copy Job State Change`.
 */
import { ACCOUNT_ID, PARTITION, REGION } from '../world';

export type EventKind = 'ec2' | 'ssm' | 'backup' | 'copy';

export interface EventEnvelope {
  readonly 'version': '0';
  readonly 'id': string;
  readonly 'detail-type': string;
  readonly 'source': string;
  readonly 'account': string;
  readonly 'time': string;
  readonly 'region': string;
  readonly 'resources': string[];
  readonly 'detail': Record<string, unknown>;
}

/** One event the world emitted, with what the simulator needs to route (or drop) it. */
export interface EmittedEvent {
  readonly kind: EventKind;
  readonly instanceId: string;
  /** Virtual seconds on the instance's clock when the change happened. */
  readonly at: number;
  readonly envelope: EventEnvelope;
  /** When the rule's target receives it (virtual seconds on the instance's clock; see delivery.ts). */
  readonly deliverAt: number;
  /** Emission order (a duplicate has its original's). */
  readonly seq: number;
  /** A second copy of an event already delivered or due (at-least-once delivery). */
  readonly duplicate?: boolean;
  /** Lambda's retry of one target after a function error: the attempt (2 or 3) and the only rule target it goes to. */
  readonly retry?: { readonly rule: string; readonly targetId: string; readonly attempt: number };
}

let counter = 0;
/** An event as EventBridge delivers it (the account and Region of the world). */
export function eventEnvelope(source: string, detailType: string, time: Date, resources: string[], detail: Record<string, unknown>): EventEnvelope {
  counter++;
  return {
    'version': '0',
    'id': `00000000-0000-4000-a000-${counter.toString(16).padStart(12, '0')}`,
    'detail-type': detailType,
    source,
    'account': ACCOUNT_ID,
    'time': time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'region': REGION,
    resources,
    detail,
  };
}

const instanceArn = (id: string) => `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT_ID}:instance/${id}`;

export function ec2StateChange(instanceId: string, state: string, time: Date): EventEnvelope {
  return eventEnvelope('aws.ec2', 'EC2 Instance State-change Notification', time, [instanceArn(instanceId)],
    { 'instance-id': instanceId, state });
}

export function ssmInvocationChange(
  inv: { commandId: string; instanceId: string; documentName: string; requestedAt: Date }, status: string, time: Date,
): EventEnvelope {
  return eventEnvelope('aws.ssm', 'EC2 Command Invocation Status-change Notification', time, [instanceArn(inv.instanceId)], {
    'command-id': inv.commandId,
    'document-name': inv.documentName,
    'instance-id': inv.instanceId,
    'requested-date-time': inv.requestedAt.toISOString(),
    status,
  });
}

export function backupJobChange(
  job: { backupJobId: string; backupVaultName: string; resourceArn: string; recoveryPointArn: string; creationDate: Date; iamRoleArn: string },
  state: string, time: Date, statusMessage?: string,
): EventEnvelope {
  const vaultArn = `arn:${PARTITION}:backup:${REGION}:${ACCOUNT_ID}:backup-vault:${job.backupVaultName}`;
  return eventEnvelope('aws.backup', 'Backup Job State Change', time, [vaultArn], {
    backupJobId: job.backupJobId,
    backupVaultArn: vaultArn,
    backupVaultName: job.backupVaultName,
    creationDate: job.creationDate.toISOString(),
    iamRoleArn: job.iamRoleArn,
    recoveryPointArn: job.recoveryPointArn,
    resourceArn: job.resourceArn,
    resourceType: 'EC2',
    state,
    ...(statusMessage ? { statusMessage } : {}),
  });
}

export function copyJobChange(
  job: { copyJobId: string; params: Record<string, any>; destinationRecoveryPointArn: string }, state: string, time: Date,
): EventEnvelope {
  return eventEnvelope('aws.backup', 'Copy Job State Change', time, [String(job.params.RecoveryPointArn ?? '')], {
    copyJobId: job.copyJobId,
    state,
    sourceRecoveryPointArn: job.params.RecoveryPointArn,
    sourceBackupVaultName: job.params.SourceBackupVaultName,
    destinationBackupVaultArn: job.params.DestinationBackupVaultArn,
    ...(state === 'COMPLETED' ? { destinationRecoveryPointArn: job.destinationRecoveryPointArn } : {}),
    resourceType: 'EC2',
  });
}
