/**
 * What an AWS Backup job of an EC2 instance leaves behind while it runs: the recovery point (an AMI) and one EBS
 * snapshot per volume the instance had when the job started. Derived from the job's timing in the world (its start
 * delay, its RUNNING time, an internal retry, its end), so DescribeBackupJob, DescribeImages and DescribeSnapshots
 * agree. The AWS text each rule follows (or the worst case it picks where the docs are silent): docs/fidelity/backup.md
 * and docs/fidelity/ec2.md.
 */
import { createHash } from 'crypto';
import { ACCOUNT_ID, BackupJob, isTerminalJob, PARTITION, REGION, Volume, World } from '../world';

export type ImageState = 'pending' | 'available' | 'failed';
export type SnapshotState = 'pending' | 'completed' | 'error';

export interface SnapshotView {
  readonly snapshotId: string;
  readonly volumeId: string;
  readonly volumeSizeGiB: number;
  readonly state: SnapshotState;
  /** "The time stamp when the snapshot was initiated": the attempt's start. */
  readonly startTime: Date;
  readonly completionTime?: Date;
  /** "The progress of the snapshot, as a percentage", e.g. `42%`. */
  readonly progress: string;
  readonly instanceId: string;
  readonly backupJobId: string;
}

export interface ImageView {
  readonly imageId: string;
  readonly state: ImageState;
  readonly creationDate: Date;
  readonly instanceId: string;
  readonly backupJobId: string;
  /** One mapping per volume; `snapshotId` absent while pending under the `withoutSnapshotIds` fault. */
  readonly mappings: ReadonlyArray<{ readonly deviceName: string; readonly snapshotId?: string; readonly volumeSizeGiB: number }>;
}

/** One attempt's recovery point (the last attempt's is the job's). */
interface Attempt {
  readonly index: number;
  readonly startedAt: number;
  readonly imageId: string;
  readonly snapshotIds: string[];
}

/** Deterministic 17-hex-digit ids (as EC2's) from the job id and what the id names. */
function hex17(...parts: Array<string | number>): string {
  return createHash('sha256').update(parts.join(':')).digest('hex').slice(0, 17);
}

function imageIdOf(job: BackupJob, attempt: number): string {
  if (attempt === 0) return job.recoveryPointArn.replace(/^.*image\//, '');
  return `ami-${hex17(job.backupJobId, 'image', attempt)}`;
}

function snapshotIdOf(job: BackupJob, attempt: number, volume: number): string {
  return `snap-${hex17(job.backupJobId, 'snapshot', attempt, volume)}`;
}

/** Per world: which job an AMI / snapshot id belongs to, and the DescribeImages calls each new AMI has been hidden from. */
interface Index {
  indexed: number;
  readonly images: Map<string, { job: BackupJob; attempt: number }>;
  readonly snapshots: Map<string, { job: BackupJob; attempt: number; volume: number }>;
  readonly imageLagCallsUsed: Map<string, number>;
}
const indexes = new WeakMap<World, Index>();

function index(world: World): Index {
  let ix = indexes.get(world);
  if (!ix || ix.indexed > world.backupJobs.size) {
    ix = { indexed: 0, images: new Map(), snapshots: new Map(), imageLagCallsUsed: new Map() };
    indexes.set(world, ix);
  }
  if (ix.indexed < world.backupJobs.size) {
    let i = 0;
    for (const job of world.backupJobs.values()) {
      if (i++ < ix.indexed) continue;
      for (let attempt = 0; attempt < 2; attempt++) {
        ix.images.set(imageIdOf(job, attempt), { job, attempt });
        (job.volumes ?? []).forEach((_, v) => ix!.snapshots.set(snapshotIdOf(job, attempt, v), { job, attempt, volume: v }));
      }
    }
    ix.indexed = world.backupJobs.size;
  }
  return ix;
}

/** The instances whose backup jobs made these AMIs / snapshots (whose chain's clock a call about them runs on). */
export function instancesOfRecoveryIds(world: World, ids: readonly string[]): string[] {
  const ix = index(world);
  const out = new Set<string>();
  for (const id of ids) {
    const hit = ix.images.get(id) ?? ix.snapshots.get(id);
    if (hit) out.add(hit.job.instanceId);
  }
  return [...out];
}

function attempts(world: World, job: BackupJob): Attempt[] {
  // Time mode: the job's state is a function of time; bring it up to now (a look that is not counted as one).
  if (world.timed && !isTerminalJob(job.state)) {
    world.observeBackupJob(job);
    job.describeCalls--;
  }
  return world.backupAttempts(job).map((startedAt, k) => ({
    index: k,
    startedAt,
    imageId: imageIdOf(job, k),
    snapshotIds: (job.volumes ?? []).map((_, v) => snapshotIdOf(job, k, v)),
  }));
}

/** The job's current attempt (its recovery point), undefined before RUNNING. */
function current(world: World, job: BackupJob): Attempt | undefined {
  const all = attempts(world, job);
  return all[all.length - 1];
}


/**
 * DescribeBackupJob's RecoveryPointArn (undocumented timing): `recoveryPointArnAt: 'running'` = `recoveryPointLagSeconds`
 * after the current attempt started (count mode: from the second RUNNING look, or terminal); `'completed'` = only
 * once COMPLETED. Never before the job ran. Under the `notAnAmi` fault, an AWS Backup recovery point ARN.
 */
export function recoveryPointArnOf(world: World, job: BackupJob): string | undefined {
  const att = current(world, job);
  if (!att) return undefined;
  const terminal = isTerminalJob(job.state);
  if (world.options.recoveryPointArnAt === 'completed') {
    if (job.state !== 'COMPLETED') return undefined;
  } else if (!terminal) {
    if (world.timed) {
      if (world.now(job.instanceId) < att.startedAt + world.options.recoveryPointLagSeconds) return undefined;
    } else if ((job.runningLooks ?? 0) < 1) {
      return undefined;
    }
  }
  if (world.instances.get(job.instanceId)?.faults.recoveryPoint?.notAnAmi) {
    return `arn:${PARTITION}:backup:${REGION}:${ACCOUNT_ID}:recovery-point:${job.backupJobId.toLowerCase()}-${att.index}`;
  }
  return `arn:${PARTITION}:ec2:${REGION}::image/${att.imageId}`;
}

function snapshotState(job: BackupJob, isCurrent: boolean): SnapshotState | 'deleted' {
  if (!isCurrent) return 'deleted';
  if (!isTerminalJob(job.state)) return 'pending';
  return job.state === 'COMPLETED' ? 'completed' : 'error';
}

function progressOf(world: World, job: BackupJob, att: Attempt, state: SnapshotState): string {
  if (state === 'completed') return '100%';
  if (state === 'error' || !world.timed) return '0%';
  const durations = world.durationsOf(job.instanceId);
  const end = job.startedAt + (job.startDelaySeconds ?? 0) + durations.backupSeconds;
  const span = Math.max(1, end - att.startedAt);
  return `${Math.max(0, Math.min(99, Math.floor(((world.now(job.instanceId) - att.startedAt) / span) * 100)))}%`;
}

function snapshotView(world: World, job: BackupJob, att: Attempt, v: number): SnapshotView | undefined {
  const all = attempts(world, job);
  const state = snapshotState(job, att.index === all.length - 1);
  if (state === 'deleted') return undefined;
  const vol: Volume = job.volumes![v];
  const end = job.terminalAt;
  return {
    snapshotId: att.snapshotIds[v],
    volumeId: vol.volumeId,
    volumeSizeGiB: vol.sizeGiB,
    state,
    startTime: world.clock.dateAt(att.startedAt),
    ...(state === 'completed' && end !== undefined ? { completionTime: world.clock.dateAt(end) } : {}),
    progress: progressOf(world, job, att, state),
    instanceId: job.instanceId,
    backupJobId: job.backupJobId,
  };
}

/** The snapshot with this id as DescribeSnapshots sees it now; undefined when it does not exist (yet, or any more). */
export function findSnapshot(world: World, snapshotId: string): SnapshotView | undefined {
  const hit = index(world).snapshots.get(snapshotId);
  if (!hit) return undefined;
  const att = attempts(world, hit.job)[hit.attempt];
  return att ? snapshotView(world, hit.job, att, hit.volume) : undefined;
}

/** Every snapshot that exists now (for DescribeSnapshots by filter), in job order. */
export function allSnapshots(world: World, jobs?: Iterable<BackupJob>): SnapshotView[] {
  const out: SnapshotView[] = [];
  for (const job of jobs ?? world.backupJobs.values()) {
    const att = current(world, job);
    if (!att) continue;
    (job.volumes ?? []).forEach((_, v) => {
      const s = snapshotView(world, job, att, v);
      if (s) out.push(s);
    });
  }
  return out;
}

/**
 * The AMI with this id as DescribeImages sees it now. `visible: false` while EC2's eventual consistency hides a new AMI
 * (`imageLagSeconds` after its attempt started; count mode: the first `imageLagCalls` calls that would show it). A
 * superseded attempt's AMI is deregistered: undefined. `countCall` counts this call against the count-mode lag.
 */
export function findImage(world: World, imageId: string, countCall: boolean): ImageView | undefined {
  const ix = index(world);
  const hit = ix.images.get(imageId);
  if (!hit) return undefined;
  const job = hit.job;
  if (world.instances.get(job.instanceId)?.faults.recoveryPoint?.notAnAmi) return undefined;
  const all = attempts(world, job);
  const att = all[hit.attempt];
  if (!att || hit.attempt !== all.length - 1) return undefined;
  if (world.timed) {
    if (world.now(job.instanceId) < att.startedAt + world.options.imageLagSeconds) return undefined;
  } else {
    const used = ix.imageLagCallsUsed.get(imageId) ?? 0;
    if (used < world.options.imageLagCalls) {
      if (countCall) ix.imageLagCallsUsed.set(imageId, used + 1);
      return undefined;
    }
  }
  const state: ImageState = !isTerminalJob(job.state) ? 'pending' : job.state === 'COMPLETED' ? 'available' : 'failed';
  const hideIds = state === 'pending' && world.instances.get(job.instanceId)?.faults.recoveryPoint?.withoutSnapshotIds === true;
  return {
    imageId,
    state,
    creationDate: world.clock.dateAt(att.startedAt),
    instanceId: job.instanceId,
    backupJobId: job.backupJobId,
    mappings: (job.volumes ?? []).map((vol, v) => ({
      deviceName: vol.deviceName,
      volumeSizeGiB: vol.sizeGiB,
      ...(hideIds ? {} : { snapshotId: att.snapshotIds[v] }),
    })),
  };
}

/**
 * Every AMI DescribeImages can see now (each job's current attempt, once visible), in job order. Count mode: this call
 * counts against each new AMI's `imageLagCalls`, as a call by id does.
 */
export function allImages(world: World): ImageView[] {
  const out: ImageView[] = [];
  for (const job of world.backupJobs.values()) {
    const att = current(world, job);
    const img = att ? findImage(world, att.imageId, true) : undefined;
    if (img) out.push(img);
  }
  return out;
}

/** Every attempt of a job, with its AMI id and snapshot ids (for tests: what a consumer could have observed). */
export function jobAttempts(world: World, job: BackupJob): ReadonlyArray<{ startedAt: number; imageId: string; snapshotIds: string[] }> {
  return attempts(world, job);
}
