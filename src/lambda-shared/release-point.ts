/**
 * The backup's point in time, observed (issue 14, docs/workflow.md "Releasing at the point in time").
 *
 * AWS documents no field that says "captured" for an AWS Backup EC2 job. What it documents: an EC2 recovery point is
 * an AMI whose EBS snapshots are "taken at the exact same moment"; an EBS snapshot "is created immediately" and "You
 * can continue to use the volume during this time without impacting the snapshot" (it captures the data written when
 * it was requested). So the release point is reached when every volume the instance had when the job started has a
 * snapshot in the job's recovery point that is `pending` or `completed`, started after the pre-script ended.
 * The look: DescribeBackupJob (RUNNING, RecoveryPointArn an AMI ARN) -> DescribeImages (its mappings' SnapshotIds)
 * -> DescribeSnapshots (state, VolumeId, StartTime). Sources: docs/fidelity/backup.md, docs/fidelity/ec2.md.
 *
 * Anything AWS leaves undocumented (when RecoveryPointArn appears, whether a pending AMI carries snapshot ids) is read
 * as "not observable" or "not yet", never as captured: a wrong "captured" would thaw an application whose point in
 * time is not fixed.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { type BackupClient, DescribeBackupJobCommand } from '@aws-sdk/client-backup';
// eslint-disable-next-line import/no-extraneous-dependencies
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, type EC2Client, type Snapshot } from '@aws-sdk/client-ec2';
// eslint-disable-next-line import/no-extraneous-dependencies
import { type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { errorCode, isTransient, rethrowClassified, TransientError } from './errors';
import { readJournal } from './journal';
import { deregisterInstance, lookThroughView, registerInstance, type SnapshotViewTarget } from './snapshot-view';
import type { InstanceSteps } from '../contract/instance';
import {
  CONSISTENCY, type ConsistencyVerdict, type ObserveReleaseEvent, type ObserveReleaseResult, RELEASE_REASONS, type ReleaseLookMode,
  type ReleaseLoopState, type ReleasePointState, type ScriptStatusResult, type SnapshotViewUse, VIEW_JOB_CHECK_EVERY_LOOKS,
  type VerifyConsistencyEvent,
} from '../contract/messages';
import { BACKUP_COMPLETED, BACKUP_JOB_FINAL_STATES, NOT_APPLICABLE, SUCCESS } from '../contract/status';

/** Error codes of a call the role may not make (Backup's and EC2's spellings). */
export const ACCESS_DENIED_CODES: readonly string[] = ['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'UnauthorizedAccess'];

/** EC2's answer while a new AMI is not visible yet (eventual consistency), or once it is deregistered. */
const AMI_NOT_FOUND = 'InvalidAMIID.NotFound';
/** EC2's answer for a snapshot id that does not exist (yet, or any more: AWS Backup retried the job). */
const SNAPSHOT_NOT_FOUND = 'InvalidSnapshot.NotFound';

/** Snapshot states that mean the snapshot has started (its point in time is fixed). */
const STARTED_SNAPSHOT_STATES: readonly string[] = ['pending', 'completed'];

/** The AMI id of an EC2 recovery point ARN (`arn:<partition>:ec2:<region>::image/ami-...`); undefined for anything else. */
export function amiIdOf(recoveryPointArn: string): string | undefined {
  const match = /^arn:aws[a-z-]*:ec2:[a-z0-9-]*:\d{0,12}:image\/(ami-[0-9a-f]+)$/.exec(recoveryPointArn);
  return match ? match[1] : undefined;
}

/** What the look needs. */
export interface ReleasePointQuery {
  readonly backupJobId: string;
  /** The instance's EBS volume ids when the job started. */
  readonly volumeIds: readonly string[];
  /** ISO-8601; empty or absent when no pre-script ran. */
  readonly preScriptEndedAt?: string;
  /** `job-end`: only whether the job ended (no EC2 call). @default 'point-in-time' */
  readonly mode?: ReleaseLookMode;
}

export interface ReleasePointClients {
  readonly backup: BackupClient;
  readonly ec2: EC2Client;
}

interface Seen {
  backupJobId: string;
  volumeIds: string[];
  jobState: string;
  recoveryPointArn: string;
}

function answer(
  state: ReleasePointState, reason: string, seen: Seen, now: Date, captured?: { snapshotIds: string[]; capturedAt: string },
): ObserveReleaseResult {
  return {
    state,
    reason,
    backupJobId: seen.backupJobId,
    volumeIds: seen.volumeIds,
    jobState: seen.jobState,
    recoveryPointArn: seen.recoveryPointArn,
    snapshotIds: captured?.snapshotIds ?? [],
    capturedAt: captured?.capturedAt ?? '',
    observedAt: now.toISOString(),
  };
}

/** A denied call makes the point in time unobservable; any other error is thrown, classified (transient: retried). */
function denied(err: unknown): boolean {
  return ACCESS_DENIED_CODES.includes(errorCode(err));
}

/**
 * The recovery point's snapshots, one per volume of `volumeIds`, as DescribeImages and DescribeSnapshots show them
 * now: `{ snapshots }` or why not (`not-yet` / `unobservable`). Shared by the release look and the check at completion.
 */
export async function snapshotsOfRecoveryPoint(
  ec2: EC2Client, recoveryPointArn: string, volumeIds: readonly string[],
): Promise<{ snapshots: Snapshot[] } | { state: 'not-yet' | 'unobservable'; reason: string }> {
  const imageId = amiIdOf(recoveryPointArn);
  if (!imageId) {
    return { state: 'unobservable', reason: `the recovery point is not an AMI (${recoveryPointArn})` };
  }
  let images;
  try {
    images = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
  } catch (err) {
    if (errorCode(err) === AMI_NOT_FOUND) {
      return { state: 'not-yet', reason: `AMI ${imageId} not visible yet (${AMI_NOT_FOUND})` };
    }
    if (denied(err)) {
      return { state: 'unobservable', reason: `DescribeImages denied (${errorCode(err)})` };
    }
    rethrowClassified(err, `DescribeImages ${imageId}`);
  }
  const image = (images.Images ?? []).find(i => i.ImageId === imageId);
  if (!image) {
    return { state: 'not-yet', reason: `AMI ${imageId} not visible yet` };
  }
  const ebs = (image.BlockDeviceMappings ?? []).filter(m => m.Ebs);
  const snapshotIds = ebs.map(m => m.Ebs?.SnapshotId).filter((id): id is string => typeof id === 'string' && id.length > 0);
  if (ebs.length === 0 || snapshotIds.length < ebs.length) {
    return { state: 'unobservable', reason: `AMI ${imageId} (${image.State ?? 'unknown state'}) names no snapshot id for ${ebs.length - snapshotIds.length || 'any'} of its EBS mappings` };
  }
  let described;
  try {
    described = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIds }));
  } catch (err) {
    if (errorCode(err) === SNAPSHOT_NOT_FOUND) {
      return { state: 'not-yet', reason: `a snapshot of AMI ${imageId} does not exist (${SNAPSHOT_NOT_FOUND}): the recovery point is changing` };
    }
    if (denied(err)) {
      return { state: 'unobservable', reason: `DescribeSnapshots denied (${errorCode(err)})` };
    }
    rethrowClassified(err, `DescribeSnapshots ${snapshotIds.join(',')}`);
  }
  // "If you specify a snapshot ID for which you do not have access, it is not included in the returned results."
  const found = (described.Snapshots ?? []).filter(s => s.SnapshotId && snapshotIds.includes(s.SnapshotId));
  if (volumeIds.length === 0) {
    // The volumes at the job's start were not recorded (the release waited for the job's end): every snapshot of the
    // AMI counts, and each must be visible.
    return found.length === snapshotIds.length
      ? { snapshots: found }
      : { state: 'unobservable', reason: `DescribeSnapshots did not return every snapshot of AMI ${imageId} (not accessible)` };
  }
  const snapshots: Snapshot[] = [];
  for (const volumeId of volumeIds) {
    const snapshot = found.find(s => s.VolumeId === volumeId);
    if (!snapshot) {
      return found.length < snapshotIds.length
        ? { state: 'unobservable', reason: `DescribeSnapshots did not return every snapshot of AMI ${imageId} (not accessible)` }
        : { state: 'unobservable', reason: `volume ${volumeId} has no snapshot in AMI ${imageId}` };
    }
    snapshots.push(snapshot);
  }
  return { snapshots };
}

/**
 * One look at the job's point in time (see the module's comment). Throws `TransientError` for throttling and 5xx (the
 * workflow retries), a permanent error named by its AWS code for the rest, except access denied (`unobservable`).
 */
export async function observeReleasePoint(
  clients: ReleasePointClients, query: ReleasePointQuery, now: () => Date = () => new Date(),
): Promise<ObserveReleaseResult> {
  const { backupJobId } = query;
  const seen: Seen = { backupJobId, volumeIds: [...query.volumeIds], jobState: '', recoveryPointArn: '' };
  let job;
  try {
    job = await clients.backup.send(new DescribeBackupJobCommand({ BackupJobId: backupJobId }));
  } catch (err) {
    if (denied(err)) {
      return answer('unobservable', `DescribeBackupJob denied (${errorCode(err)})`, seen, now());
    }
    // Looking only for the job's end (release at job completion, or the point in time unobservable): a refused look
    // (throttled) did not see the end, and the next look, a minute later, asks again, within the freeze budget.
    // Failing it would spend its retries against DescribeBackupJob's rate, which every such chain's looks share, and
    // a look failed after them releases the application before the job's end (`look-failed`): what this mode exists
    // to avoid (docs/design.md "Fleet scale").
    if (query.mode === 'job-end' && isTransient(err)) {
      return answer('not-yet', `DescribeBackupJob refused (${errorCode(err)}): the job's end is looked for again at the next look`, seen, now());
    }
    rethrowClassified(err, `DescribeBackupJob ${backupJobId}`);
  }
  seen.jobState = job.State ?? '';
  seen.recoveryPointArn = job.RecoveryPointArn ?? '';

  if (BACKUP_JOB_FINAL_STATES.includes(seen.jobState) || seen.jobState === 'ABORTING') {
    const why = seen.recoveryPointArn ? '' : ' (no RecoveryPointArn was seen before the end)';
    return answer('job-ended', `the job is ${seen.jobState}${job.StatusMessage ? `: ${job.StatusMessage}` : ''}${why}`, seen, now());
  }
  if (seen.jobState !== 'RUNNING' || query.mode === 'job-end') {
    return answer('not-yet', `the job is ${seen.jobState || 'in an unknown state'}`, seen, now());
  }
  if (!seen.recoveryPointArn) {
    return answer('not-yet', 'the job is RUNNING without a RecoveryPointArn yet', seen, now());
  }
  if (query.volumeIds.length === 0) {
    return answer('unobservable', 'the instance had no EBS volume recorded when the job started', seen, now());
  }

  const look = await snapshotsOfRecoveryPoint(clients.ec2, seen.recoveryPointArn, query.volumeIds);
  if (!('snapshots' in look)) {
    return answer(look.state, look.reason, seen, now());
  }
  const preEnd = query.preScriptEndedAt ? Date.parse(query.preScriptEndedAt) : Number.NaN;
  let latest = 0;
  for (const s of look.snapshots) {
    if (!STARTED_SNAPSHOT_STATES.includes(String(s.State))) {
      return answer('not-yet', `snapshot ${s.SnapshotId} of ${s.VolumeId} is ${s.State ?? 'in an unknown state'}`, seen, now());
    }
    const start = s.StartTime ? new Date(s.StartTime).getTime() : Number.NaN;
    if (Number.isNaN(start)) {
      return answer('unobservable', `snapshot ${s.SnapshotId} has no StartTime`, seen, now());
    }
    if (!Number.isNaN(preEnd) && start <= preEnd) {
      return answer('unobservable', `snapshot ${s.SnapshotId} started at ${new Date(start).toISOString()}, before the pre-script ended (${query.preScriptEndedAt})`, seen, now());
    }
    latest = Math.max(latest, start);
  }
  const snapshotIds = look.snapshots.map(s => s.SnapshotId!);
  const capturedAt = new Date(latest).toISOString();
  return answer('captured', `every volume's snapshot has started (${snapshotIds.join(', ')}), latest at ${capturedAt}`, seen, now(), { snapshotIds, capturedAt });
}

/**
 * Verify at completion: AWS Backup may retry a job internally, so the recovery point a COMPLETED job ends with may
 * hold snapshots that started after the application was released. The backup is application-consistent only when
 * every volume's snapshot in the final recovery point started after the pre-script ended and no later than the release;
 * later snapshots make it crash-consistent; a job that did not complete leaves none. When the final snapshots cannot be
 * observed, the snapshot ids seen at release decide (the same ids = the same point in time).
 */
export async function verifyConsistency(
  ec2: EC2Client,
  input: {
    readonly jobState: string;
    readonly recoveryPointArn: string;
    readonly volumeIds: readonly string[];
    /** ISO-8601 time the application was released (post-script sent / instance started). */
    readonly releasedAt: string;
    readonly preScriptEndedAt?: string;
    /** The snapshot ids seen when the point in time was captured; empty when it was not observed. */
    readonly capturedSnapshotIds?: readonly string[];
    /** Whether the application was frozen at all (a pre-script ran or the instance was stopped). */
    readonly frozen: boolean;
  },
): Promise<ConsistencyVerdict> {
  if (input.jobState !== BACKUP_COMPLETED) {
    return { consistency: CONSISTENCY.none, reason: `the backup job ended ${input.jobState || 'without a state'}` };
  }
  if (!input.frozen) {
    return { consistency: CONSISTENCY.crash, reason: 'nothing froze the application (no pre-script succeeded, no stop)' };
  }
  if (Number.isNaN(Date.parse(input.releasedAt))) {
    return { consistency: CONSISTENCY.crash, reason: 'the time of the release is not known (no look at the job succeeded)' };
  }
  const look = await snapshotsOfRecoveryPoint(ec2, input.recoveryPointArn, input.volumeIds);
  if (!('snapshots' in look)) {
    // Not visible yet (EC2's eventual consistency: the AMI or a snapshot not listed yet, e.g. when no look described it
    // before, the snapshot view having released the application): the check is retried; after its retries the entry
    // says "not verified" and counts it crash-consistent.
    if (look.state === 'not-yet') throw new TransientError(`the recovery point's snapshots are not visible yet: ${look.reason}`);
    return { consistency: CONSISTENCY.crash, reason: `the recovery point's snapshots could not be checked: ${look.reason}` };
  }
  const released = Date.parse(input.releasedAt);
  const preEnd = input.preScriptEndedAt ? Date.parse(input.preScriptEndedAt) : Number.NaN;
  for (const s of look.snapshots) {
    const start = s.StartTime ? new Date(s.StartTime).getTime() : Number.NaN;
    if (Number.isNaN(start)) {
      return { consistency: CONSISTENCY.crash, reason: `snapshot ${s.SnapshotId} has no StartTime` };
    }
    if (!Number.isNaN(released) && start > released) {
      return {
        consistency: CONSISTENCY.crash,
        reason: `snapshot ${s.SnapshotId} of ${s.VolumeId} started at ${new Date(start).toISOString()}, after the release at ${input.releasedAt} (AWS Backup retried the job)`,
      };
    }
    if (!Number.isNaN(preEnd) && start <= preEnd) {
      return { consistency: CONSISTENCY.crash, reason: `snapshot ${s.SnapshotId} started before the pre-script ended` };
    }
  }
  const ids = look.snapshots.map(s => s.SnapshotId);
  const captured = input.capturedSnapshotIds ?? [];
  // Every snapshot of the final recovery point must be one seen started at release (the view may have seen more than
  // one per volume: a snapshot someone else took, e.g. Data Lifecycle Manager, is not the backup's and does not count).
  if (captured.length > 0 && ids.some(id => !id || !captured.includes(id))) {
    return { consistency: CONSISTENCY.crash, reason: `the final snapshots (${ids.join(', ')}) are not the ones seen at release (${captured.join(', ')})` };
  }
  return { consistency: CONSISTENCY.application, reason: `every volume's snapshot started while the application was frozen (${ids.join(', ')})` };
}

/**
 * The release loop's state after a look (pure): the look's answer, one more look, the Wait before it counted; after
 * the first unobservable look, the mode becomes `job-end` (looked at every `jobEndLookSeconds`) and the reason is kept
 * for the audit entry.
 */
export function nextLoopState(previous: ReleaseLoopState, look: ObserveReleaseResult, jobEndLookSeconds: number): ReleaseLoopState {
  const unobservable = look.state === 'unobservable' && previous.mode !== 'job-end';
  return {
    ...look,
    mode: unobservable ? 'job-end' : previous.mode,
    lookSeconds: unobservable ? jobEndLookSeconds : previous.lookSeconds,
    waitedSeconds: previous.waitedSeconds + previous.lookSeconds,
    looks: previous.looks + 1,
    fallbackReason: previous.fallbackReason || (look.state === 'unobservable' ? look.reason : ''),
  };
}

/** What the handler's look needs besides the AWS clients. */
export interface ObserveReleaseClients extends ReleasePointClients {
  readonly doc: DynamoDBDocumentClient;
  /** The audit table holding the instance journal. */
  readonly tableName: string;
}

/** The instance's EBS volume ids now (DescribeInstances BlockDeviceMappings). */
export async function volumeIdsOf(ec2: EC2Client, instanceId: string): Promise<string[]> {
  let output;
  try {
    output = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  } catch (err) {
    rethrowClassified(err, `DescribeInstances ${instanceId}`);
  }
  const instance = (output.Reservations ?? []).flatMap(r => r.Instances ?? []).find(i => i.InstanceId === instanceId);
  return (instance?.BlockDeviceMappings ?? []).map(m => m.Ebs?.VolumeId).filter((id): id is string => typeof id === 'string' && id.length > 0);
}

/**
 * The handler's look (observe-release): the job id from the event, else from the instance journal (none yet:
 * `not-yet`); the volumes from the event, else DescribeInstances once the job exists (so they are the volumes the
 * instance has once its job was started: a volume attached since then has no snapshot, and the look says
 * `unobservable`, never `captured`). Then, in the release loop (`event.loop`), through the run's shared snapshot view
 * (src/lambda-shared/snapshot-view.ts; DescribeBackupJob only on every VIEW_JOB_CHECK_EVERY_LOOKS-th look), or, when
 * the view cannot serve the chain, `observeReleasePoint` (the chain's own look), and the loop's state says why.
 */
export async function observeRelease(
  clients: ObserveReleaseClients, event: ObserveReleaseEvent, now: () => Date = () => new Date(),
): Promise<ObserveReleaseResult> {
  const loop = event.loop;
  let backupJobId = event.backupJobId ?? '';
  let jobRequestedAt = loop?.jobRequestedAt ?? '';
  const carried = { view: loop?.view, viewOffReason: loop?.viewOffReason };
  if (!backupJobId) {
    const journal = await readJournal(clients.doc, { tableName: clients.tableName, executionId: event.execution.id, instanceId: event.instanceId });
    backupJobId = journal.actions.backup?.resourceId ?? '';
    jobRequestedAt = journal.actions.backup?.intentAt ?? '';
    if (!backupJobId) {
      return withView({
        state: 'not-yet',
        reason: journal.actions.backup ? 'the backup job is being started (no job id recorded yet)' : 'the backup job is not started yet',
        backupJobId: '',
        volumeIds: [...(event.volumeIds ?? [])],
        jobState: '',
        recoveryPointArn: '',
        snapshotIds: [],
        capturedAt: '',
        observedAt: now().toISOString(),
      }, { jobRequestedAt, ...carried });
    }
  }
  const mode = event.mode ?? 'point-in-time';
  const volumeIds = mode === 'job-end' || (event.volumeIds && event.volumeIds.length > 0)
    ? [...(event.volumeIds ?? [])]
    : await volumeIdsOf(clients.ec2, event.instanceId);
  const query = { backupJobId, volumeIds, preScriptEndedAt: event.preScriptEndedAt, mode };
  if (!loop || mode !== 'point-in-time' || carried.view === 'off') {
    return withView(await observeReleasePoint(clients, query, now), { jobRequestedAt, ...carried });
  }
  return observeThroughView(clients, event, loop, { ...query, jobRequestedAt }, now);
}

/** The view's fields of a look's result (carried from look to look by the release loop's state). */
function withView(
  result: ObserveReleaseResult, view: { jobRequestedAt?: string; view?: SnapshotViewUse; viewOffReason?: string; viewRefreshId?: string },
): ObserveReleaseResult {
  return {
    ...result,
    ...(view.viewRefreshId ? { viewRefreshId: view.viewRefreshId } : {}),
    ...(view.jobRequestedAt ? { jobRequestedAt: view.jobRequestedAt } : {}),
    ...(view.view ? { view: view.view } : {}),
    ...(view.viewOffReason ? { viewOffReason: view.viewOffReason } : {}),
  };
}

/**
 * A release loop's look through the run's snapshot view: the job's state on every VIEW_JOB_CHECK_EVERY_LOOKS-th look
 * only (a job that ended early is noticed within a minute; the view says when the snapshots started); the instance
 * registered on its first look; then the view decides. An instance the view cannot serve looks on its own from then
 * on (`view: 'off'`, `viewOffReason`).
 */
async function observeThroughView(
  clients: ObserveReleaseClients, event: ObserveReleaseEvent, loop: ReleaseLoopState,
  query: ReleasePointQuery & { readonly jobRequestedAt: string }, now: () => Date,
): Promise<ObserveReleaseResult> {
  const target: SnapshotViewTarget = { doc: clients.doc, ec2: clients.ec2, tableName: clients.tableName, executionId: event.execution.id };
  const instance = { instanceId: event.instanceId, volumeIds: query.volumeIds, jobRequestedAt: query.jobRequestedAt };
  const seen: Seen = {
    backupJobId: query.backupJobId,
    volumeIds: [...query.volumeIds],
    jobState: loop.backupJobId === query.backupJobId ? loop.jobState : '',
    recoveryPointArn: loop.backupJobId === query.backupJobId ? loop.recoveryPointArn : '',
  };
  const off = async (reason: string) => withView(await observeReleasePoint(clients, query, now),
    { jobRequestedAt: query.jobRequestedAt, view: 'off', viewOffReason: reason });

  if ((loop.looks + 1) % VIEW_JOB_CHECK_EVERY_LOOKS === 0) {
    let job;
    try {
      job = await clients.backup.send(new DescribeBackupJobCommand({ BackupJobId: query.backupJobId }));
    } catch (err) {
      if (denied(err)) {
        await deregisterInstance(target, event.instanceId);
        return withView(answer('unobservable', `DescribeBackupJob denied (${errorCode(err)})`, seen, now()), { jobRequestedAt: query.jobRequestedAt });
      }
      // Throttled (or another transient error): this look goes on without the job's state, which the next check (6
      // looks later) reads. The check is only there to notice a job that ended early; the view still says whether
      // the point in time is captured. Failing the look would spend its retries against a quota every frozen chain
      // shares, and a look failed after them releases the application without its point in time (docs/design.md
      // "Fleet scale": 46 such releases in a whole 10,000-instance simulation before this).
      if (!isTransient(err)) rethrowClassified(err, `DescribeBackupJob ${query.backupJobId}`);
    }
    seen.jobState = job?.State ?? seen.jobState;
    seen.recoveryPointArn = job?.RecoveryPointArn ?? seen.recoveryPointArn;
    if (job && (BACKUP_JOB_FINAL_STATES.includes(seen.jobState) || seen.jobState === 'ABORTING')) {
      await deregisterInstance(target, event.instanceId);
      const why = seen.recoveryPointArn ? '' : ' (no RecoveryPointArn was seen before the end)';
      return withView(answer('job-ended', `the job is ${seen.jobState}${job.StatusMessage ? `: ${job.StatusMessage}` : ''}${why}`, seen, now()),
        { jobRequestedAt: query.jobRequestedAt });
    }
  }
  if (query.volumeIds.length === 0) {
    return withView(answer('unobservable', 'the instance had no EBS volume recorded when the job started', seen, now()), { jobRequestedAt: query.jobRequestedAt });
  }
  // Registered until a look has read a refresh (an idempotent registration: a retried one changes nothing); the loop's
  // state then carries only the refresh id it read (kept small: it travels in every state of the chain).
  if (!loop.viewRefreshId) {
    const registration = await registerInstance(target, instance, now());
    if (!registration.registered) return off(registration.reason);
  }
  const look = await lookThroughView(target, instance, now(), loop.viewRefreshId || undefined);
  if (look.state === 'off') {
    await deregisterInstance(target, event.instanceId);
    return off(look.reason);
  }
  const registered = { jobRequestedAt: query.jobRequestedAt, viewRefreshId: look.refreshId };
  if (look.state === 'not-yet') {
    // A registration the view does not hold (removed by an earlier attempt of this look that released, its answer lost;
    // or expired): registered again (idempotent), so the next refresh sees it.
    if (look.unregistered && loop.viewRefreshId) {
      const again = await registerInstance(target, instance, now());
      if (!again.registered) return off(again.reason);
    }
    return withView(answer('not-yet', look.reason, seen, now()), registered);
  }
  await deregisterInstance(target, event.instanceId);
  return withView(answer('captured', look.reason, seen, now(), { snapshotIds: look.snapshotIds, capturedAt: look.capturedAt }), registered);
}

/**
 * The check at the job's end (observe-release with `verify`): what froze the application, from the chain's steps, then
 * `verifyConsistency`. An instance stopped when the run began was never running: its backup is as consistent as a
 * stopped instance is. A release that waited for the job's end (`job-ended`) released after every snapshot was taken:
 * the backup is application-consistent whenever something froze the application.
 */
export async function verifyAtJobEnd(ec2: EC2Client, event: VerifyConsistencyEvent): Promise<ConsistencyVerdict> {
  const { steps, release } = event;
  if (event.jobState !== BACKUP_COMPLETED) {
    return { consistency: CONSISTENCY.none, reason: `the backup job ended ${event.jobState || 'without a state'}` };
  }
  if (steps.eligibility?.status === NOT_APPLICABLE) {
    return { consistency: CONSISTENCY.application, reason: 'the instance was stopped throughout (stopped when the run began)' };
  }
  const pre = scriptResult(steps.pre);
  const preSucceeded = pre?.status === SUCCESS;
  const stopped = steps.stop?.status === SUCCESS && !('notRun' in steps.stop && steps.stop.notRun);
  const frozen = preSucceeded || stopped;
  if (frozen && release.releaseReason === RELEASE_REASONS.jobEnded) {
    return {
      consistency: CONSISTENCY.application,
      reason: `released only once the job had ended (${release.jobState || 'ended'}): every snapshot was taken while the application was ${stopped ? 'stopped' : 'frozen'}`,
    };
  }
  return verifyConsistency(ec2, {
    jobState: event.jobState,
    recoveryPointArn: event.recoveryPointArn,
    volumeIds: release.volumeIds,
    releasedAt: release.observedAt,
    preScriptEndedAt: preSucceeded ? pre.endedAt : undefined,
    capturedSnapshotIds: release.snapshotIds,
    frozen,
  });
}

function scriptResult(step: InstanceSteps['pre']): ScriptStatusResult | undefined {
  return step && 'commandId' in step ? step : undefined;
}
