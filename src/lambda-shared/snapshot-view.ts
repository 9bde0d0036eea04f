/**
 * The run's shared snapshot view (issue 14, docs/design.md "Fleet scale", "The snapshot view").
 *
 * While applications are frozen, each chain used to look every 10 s with DescribeBackupJob (15 per s for the account),
 * then DescribeImages and DescribeSnapshots by ids. The release point needs only that every volume the instance had
 * when its job started has a snapshot that has started (`pending` or `completed`) after the job's start was requested
 * (which is after the pre-script ended): EC2 shows that for many instances in one call, DescribeSnapshots with
 * `OwnerIds: ['self']` and a `volume-id` filter. So:
 *
 * - a frozen chain registers its instance (volume ids, the job's request time) in one of `VIEW_SHARDS` registration
 *   items of the run (`SNAPVIEW#<run>#R<shard>`, a counter bounds each item: `MAX_REGISTRATIONS_PER_SHARD`);
 * - a look reads what the last refresh saw for its shard (`SNAPVIEW#<run>#S<shard>`, one strongly consistent GetItem);
 *   when that was not refreshed in the look's own slot of `SNAPSHOT_VIEW_REFRESH_SECONDS`, it claims the slot
 *   (`SNAPVIEW#<run>#T<slot>`, a conditional PutItem: one claim per run and slot) and, if it won, refreshes: it reads
 *   every registration, describes their volumes' snapshots (200 volume ids a call, pages of 1,000, the SDK's
 *   paginator) and writes, per shard, what each registered instance's volumes have;
 * - the losers use what is there (or answer not-yet): the throttling bucket sees one refresh per run and slot.
 *
 * Bounds (DynamoDB's 400 KB item limit): at most `MAX_VOLUMES_PER_INSTANCE` volumes per registered instance and
 * `MAX_SNAPSHOTS_PER_VOLUME` snapshots kept per volume, `MAX_REGISTRATIONS_PER_SHARD` instances per shard:
 * a registration item holds at most 200 x ~400 B, a seen item 200 x ~1.5 KB, under 400 KB; 64 shards hold 12,800
 * frozen instances at once. A chain the view cannot take (full shard, too many volumes, a denied call) looks on its
 * own as before (src/lambda-shared/release-point.ts), and the release loop's state says why.
 *
 * Which snapshot is the backup's is not documented as a field of the snapshot (AWS Backup's description and tags are
 * not a documented contract), so the view counts every snapshot of the volume started after the job's request: one
 * taken by someone else (Data Lifecycle Manager, a script) in that window can release the application before AWS
 * Backup's snapshot started; the check at the job's end (verifyConsistency) then finds that the recovery point's
 * snapshot was not among those seen at release and records the backup crash-consistent: never a wrong
 * application-consistent claim.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { type EC2Client, paginateDescribeSnapshots, type Snapshot } from '@aws-sdk/client-ec2';
// eslint-disable-next-line import/no-extraneous-dependencies
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { errorCode, isConditionFailed, rethrowClassified } from './errors';
import {
  EXPIRES_AT, PARTITION_KEY, RECORD_TYPE, RECORD_TYPE_SNAPSHOT_VIEW, SNAPSHOT_VIEW_ITEM_LIFETIME_SECONDS, snapshotViewHeadKey,
  snapshotViewRegistrationKey, snapshotViewSeenKey,
} from '../contract/audit-schema';
import { SNAPSHOT_VIEW_REFRESH_SECONDS } from '../contract/messages';

/** Registration and seen items per run. */
export const VIEW_SHARDS = 64;
/** Instances one registration item holds at most (a counter in the item, checked by the registration's condition). */
export const MAX_REGISTRATIONS_PER_SHARD = 200;
/** An instance with more volumes looks on its own. */
export const MAX_VOLUMES_PER_INSTANCE = 16;
/** Snapshots kept per volume in a seen item (the earliest started after the job's request). */
export const MAX_SNAPSHOTS_PER_VOLUME = 2;
/** Volume ids per DescribeSnapshots filter (EC2 answers FilterLimitExceeded above 200 values: docs/fidelity/ec2.md). */
export const VOLUME_FILTER_VALUES = 200;
/** DescribeSnapshots page size (MaxResults: 5 to 1,000). */
export const SNAPSHOT_PAGE_SIZE = 1000;
/** A registration is dropped after this long (the longest freeze budget, 4 h, and a margin) if nobody removed it. */
export const REGISTRATION_SECONDS = 4.5 * 3600;

/**
 * Clock skew allowed between the job's request time (the Lambda's clock) and a snapshot's StartTime (EC2's): a snapshot
 * that started up to this long before the request still counts (AWS Backup cannot start it before the request; the
 * clocks may differ by that much). The check at the job's end still requires its start after the pre-script's end.
 */
export const CLOCK_SKEW_MS = 2000;

/** Snapshot states that mean the snapshot has started (its point in time is fixed). */
const STARTED: readonly string[] = ['pending', 'completed'];

/** Registration attributes are named `R:<instance id>`; the item's other attributes are not registrations. */
const REG_PREFIX = 'R:';
const COUNT = 'Registrations';
const REFRESHED_SLOT = 'RefreshedSlot';
const REFRESHED_AT = 'RefreshedAt';
/** Which refresh wrote a seen item (`<slot>`, or `<slot>F` for the slot's overdue one): a look compares it with the one it saw last time. */
const REFRESH_ID = 'RefreshId';
const SEEN = 'Seen';
const DENIED = 'Denied';

/** A registered instance (stored compactly). */
interface Registration {
  /** Volume ids. */
  readonly v: string[];
  /** Epoch ms: snapshots must start after it (the job's start request). */
  readonly s: number;
  /** Epoch ms after which the registration is ignored. */
  readonly u: number;
}

/** One snapshot in a seen item: `[snapshot id, volume index, state, start epoch ms]`. */
type SeenSnapshot = [string, number, string, number];

export interface SnapshotViewTarget {
  readonly doc: DynamoDBDocumentClient;
  readonly ec2: EC2Client;
  readonly tableName: string;
  /** The run (the execution ARN the chains share). */
  readonly executionId: string;
}

export interface ViewInstance {
  readonly instanceId: string;
  readonly volumeIds: readonly string[];
  /** ISO-8601: the job's start request (snapshots must start after it). */
  readonly jobRequestedAt: string;
}

/** What the view says about one instance. */
export type ViewAnswer =
  | { readonly state: 'captured'; readonly snapshotIds: string[]; readonly capturedAt: string; readonly reason: string }
  /** `unregistered`: the last refresh did not see this instance's registration (not yet, or it was removed). */
  | { readonly state: 'not-yet'; readonly reason: string; readonly unregistered?: boolean }
  /** The view cannot serve this instance: the chain looks on its own. */
  | { readonly state: 'off'; readonly reason: string };

/** The shard of an instance (a stable hash of its id). */
export function shardOf(instanceId: string): number {
  let h = 0;
  for (let i = 0; i < instanceId.length; i++) h = (h * 31 + instanceId.charCodeAt(i)) % 2_147_483_647;
  return h % VIEW_SHARDS;
}

/** The refresh slot of a time: at most one refresh per run in each. */
export function slotOf(nowMs: number): number {
  return Math.floor(nowMs / (SNAPSHOT_VIEW_REFRESH_SECONDS * 1000));
}

function expiresAt(now: Date): number {
  return Math.floor(now.getTime() / 1000) + SNAPSHOT_VIEW_ITEM_LIFETIME_SECONDS;
}

/** Access denied (the role lacks the view's grant, or EC2's DescribeSnapshots). */
function denied(err: unknown): boolean {
  return ['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'UnauthorizedAccess'].includes(errorCode(err));
}

/** DynamoDB refused the item as too large. */
function tooLarge(err: unknown): boolean {
  return errorCode(err) === 'ValidationException' && /size/i.test(err instanceof Error ? err.message : String(err));
}

/**
 * Registers the instance in its shard (idempotent: a second registration of the same instance changes nothing).
 * `off` when the view cannot take it (too many volumes, the shard full or too large, access denied); throttling and
 * 5xx are thrown classified (the Task retries).
 */
export async function registerInstance(
  target: SnapshotViewTarget, instance: ViewInstance, now: Date,
): Promise<{ readonly registered: true } | { readonly registered: false; readonly reason: string }> {
  if (instance.volumeIds.length === 0) return { registered: false, reason: 'no EBS volume recorded' };
  if (instance.volumeIds.length > MAX_VOLUMES_PER_INSTANCE) {
    return { registered: false, reason: `${instance.volumeIds.length} volumes (the view takes at most ${MAX_VOLUMES_PER_INSTANCE})` };
  }
  const since = Date.parse(instance.jobRequestedAt);
  if (Number.isNaN(since)) return { registered: false, reason: 'the time the job was requested is not known' };
  const registration: Registration = { v: [...instance.volumeIds], s: since, u: now.getTime() + REGISTRATION_SECONDS * 1000 };
  const shard = shardOf(instance.instanceId);
  try {
    await target.doc.send(new UpdateCommand({
      TableName: target.tableName,
      Key: { [PARTITION_KEY]: snapshotViewRegistrationKey(target.executionId, shard) },
      UpdateExpression: 'SET #reg = :reg, #count = if_not_exists(#count, :zero) + :one, #type = :type, #exp = :exp',
      ConditionExpression: 'attribute_not_exists(#reg) AND (attribute_not_exists(#count) OR #count < :max)',
      ExpressionAttributeNames: { '#reg': `${REG_PREFIX}${instance.instanceId}`, '#count': COUNT, '#type': RECORD_TYPE, '#exp': EXPIRES_AT },
      ExpressionAttributeValues: {
        ':reg': registration,
        ':zero': 0,
        ':one': 1,
        ':max': MAX_REGISTRATIONS_PER_SHARD,
        ':type': RECORD_TYPE_SNAPSHOT_VIEW,
        ':exp': expiresAt(now),
      },
    }));
    return { registered: true };
  } catch (err) {
    if (isConditionFailed(err)) {
      // Either already registered (a retried look) or the shard is full: read which.
      const item = await getItem(target, snapshotViewRegistrationKey(target.executionId, shard));
      if (item && item[`${REG_PREFIX}${instance.instanceId}`]) return { registered: true };
      return { registered: false, reason: `the run's snapshot view is full (shard ${shard}: ${MAX_REGISTRATIONS_PER_SHARD} instances)` };
    }
    if (tooLarge(err)) return { registered: false, reason: `the run's snapshot view item is too large (shard ${shard})` };
    if (denied(err)) return { registered: false, reason: `the snapshot view's table access denied (${errorCode(err)})` };
    rethrowClassified(err, 'snapshot view registration');
  }
}

/** Removes the instance from its shard (once released). A registration already gone is fine. */
export async function deregisterInstance(target: SnapshotViewTarget, instanceId: string): Promise<void> {
  try {
    await target.doc.send(new UpdateCommand({
      TableName: target.tableName,
      Key: { [PARTITION_KEY]: snapshotViewRegistrationKey(target.executionId, shardOf(instanceId)) },
      UpdateExpression: 'REMOVE #reg SET #count = #count - :one',
      ConditionExpression: 'attribute_exists(#reg)',
      ExpressionAttributeNames: { '#reg': `${REG_PREFIX}${instanceId}`, '#count': COUNT },
      ExpressionAttributeValues: { ':one': 1 },
    }));
  } catch (err) {
    if (isConditionFailed(err) || denied(err)) return;
    rethrowClassified(err, 'snapshot view deregistration');
  }
}

async function getItem(target: SnapshotViewTarget, key: string): Promise<Record<string, any> | undefined> {
  const out = await target.doc.send(new GetCommand({ TableName: target.tableName, Key: { [PARTITION_KEY]: key }, ConsistentRead: true }));
  return out.Item;
}

/** Claims the refresh of `slot` for this run: true for exactly one caller per slot. */
export async function claimRefresh(target: SnapshotViewTarget, slot: number | string, instanceId: string, now: Date): Promise<boolean> {
  try {
    await target.doc.send(new PutCommand({
      TableName: target.tableName,
      Item: {
        [PARTITION_KEY]: `${snapshotViewHeadKey(target.executionId)}#T${slot}`,
        [RECORD_TYPE]: RECORD_TYPE_SNAPSHOT_VIEW,
        ClaimedBy: instanceId,
        ClaimedAt: now.toISOString(),
        [EXPIRES_AT]: expiresAt(now),
      },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY },
    }));
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}

/** Every registration of the run (strongly consistent), by shard; expired ones left out. */
export async function readRegistrations(target: SnapshotViewTarget, now: Date): Promise<Map<number, Map<string, Registration>>> {
  const keys = Array.from({ length: VIEW_SHARDS }, (_, shard) => snapshotViewRegistrationKey(target.executionId, shard));
  const out = new Map<number, Map<string, Registration>>();
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Array<Record<string, string>> = keys.slice(i, i + 100).map((k) => ({ [PARTITION_KEY]: k }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= 5) throw new Error(`snapshot view: ${pending.length} registration items unprocessed after 5 BatchGetItem calls`);
      const res = await target.doc.send(new BatchGetCommand({
        RequestItems: { [target.tableName]: { Keys: pending, ConsistentRead: true } },
      }));
      for (const item of res.Responses?.[target.tableName] ?? []) {
        const shard = Number(/#R(\d+)$/.exec(String(item[PARTITION_KEY]))?.[1]);
        const regs = new Map<string, Registration>();
        for (const [name, value] of Object.entries(item)) {
          if (!name.startsWith(REG_PREFIX) || !value || typeof value !== 'object') continue;
          const r = value as Registration;
          if (Number(r.u) < now.getTime()) continue;
          regs.set(name.slice(REG_PREFIX.length), { v: [...r.v], s: Number(r.s), u: Number(r.u) });
        }
        out.set(shard, regs);
      }
      pending = (res.UnprocessedKeys?.[target.tableName]?.Keys ?? []) as Array<Record<string, string>>;
    }
  }
  return out;
}

/**
 * Every snapshot the account owns of these volumes, as EC2 lists them now: `VOLUME_FILTER_VALUES` volume ids per
 * call, every page. `denied` when EC2 refuses the call (the chains then look on their own).
 */
export async function describeVolumeSnapshots(ec2: EC2Client, volumeIds: readonly string[]): Promise<{ snapshots: Snapshot[] } | { denied: string }> {
  const unique = [...new Set(volumeIds)];
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += VOLUME_FILTER_VALUES) chunks.push(unique.slice(i, i + VOLUME_FILTER_VALUES));
  // The chunks side by side (a refresh's duration is the view's staleness); each chunk's pages in order.
  const results = await Promise.all(chunks.map(async (chunk): Promise<Snapshot[] | { denied: string }> => {
    const out: Snapshot[] = [];
    try {
      const pages = paginateDescribeSnapshots({ client: ec2, pageSize: SNAPSHOT_PAGE_SIZE }, {
        OwnerIds: ['self'],
        Filters: [{ Name: 'volume-id', Values: chunk }],
      });
      for await (const page of pages) out.push(...(page.Snapshots ?? []));
    } catch (err) {
      if (denied(err)) return { denied: `DescribeSnapshots denied (${errorCode(err)})` };
      rethrowClassified(err, `DescribeSnapshots of ${chunk.length} volumes`);
    }
    return out;
  }));
  const refusal = results.find((r): r is { denied: string } => !Array.isArray(r));
  return refusal ?? { snapshots: results.flatMap((r) => r as Snapshot[]) };
}

/** What a refresh keeps for one registered instance: per volume, the earliest snapshots started after its job's request. */
export function seenFor(reg: Registration, byVolume: ReadonlyMap<string, readonly Snapshot[]>): SeenSnapshot[] {
  const out: SeenSnapshot[] = [];
  reg.v.forEach((volumeId, index) => {
    const later = (byVolume.get(volumeId) ?? [])
      .map((s) => [s, s.StartTime ? new Date(s.StartTime).getTime() : Number.NaN] as const)
      .filter(([s, start]) => s.SnapshotId && !Number.isNaN(start) && start > reg.s - CLOCK_SKEW_MS)
      .sort((a, b) => a[1] - b[1])
      .slice(0, MAX_SNAPSHOTS_PER_VOLUME);
    for (const [s, start] of later) out.push([s.SnapshotId!, index, String(s.State ?? ''), start]);
  });
  return out;
}

/**
 * Refreshes the run's view (the caller claimed the slot): reads the registrations, describes their volumes' snapshots,
 * writes one seen item per shard. Returns the seen item of `shard` as written; `undefined` when the refresh could not
 * be made (throttled, 5xx: nothing written, the view stays as it was; the next slot's claimer tries again).
 */
export async function refreshView(
  target: SnapshotViewTarget, slot: number, shard: number, now: Date, refreshId: string = `${slot}`,
): Promise<Record<string, any> | undefined> {
  let registrations: Map<number, Map<string, Registration>>;
  let described: { snapshots: Snapshot[] } | { denied: string };
  try {
    registrations = await readRegistrations(target, now);
    const volumes = [...registrations.values()].flatMap((regs) => [...regs.values()].flatMap((r) => r.v));
    described = volumes.length > 0 ? await describeVolumeSnapshots(target.ec2, volumes) : { snapshots: [] };
  } catch {
    // A throttled or failing refresh is not the look's failure: it answers from the view as it is.
    return undefined;
  }
  const byVolume = new Map<string, Snapshot[]>();
  if ('snapshots' in described) {
    for (const s of described.snapshots) {
      if (!s.VolumeId) continue;
      const list = byVolume.get(s.VolumeId) ?? [];
      list.push(s);
      byVolume.set(s.VolumeId, list);
    }
  }
  const items = Array.from({ length: VIEW_SHARDS }, (_, k) => {
    const seen: Record<string, SeenSnapshot[]> = {};
    for (const [instanceId, reg] of registrations.get(k) ?? new Map<string, Registration>()) seen[instanceId] = seenFor(reg, byVolume);
    return {
      [PARTITION_KEY]: snapshotViewSeenKey(target.executionId, k),
      [RECORD_TYPE]: RECORD_TYPE_SNAPSHOT_VIEW,
      [REFRESHED_SLOT]: slot,
      [REFRESHED_AT]: now.toISOString(),
      [REFRESH_ID]: refreshId,
      [SEEN]: seen,
      ...('denied' in described ? { [DENIED]: described.denied } : {}),
      [EXPIRES_AT]: expiresAt(now),
    };
  });
  try {
    const batches: Array<typeof items> = [];
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
    await Promise.all(batches.map(async (batch) => {
      let pending = batch.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0 && attempt < 5; attempt++) {
        const res = await target.doc.send(new BatchWriteCommand({ RequestItems: { [target.tableName]: pending } }));
        pending = (res.UnprocessedItems?.[target.tableName] ?? []) as typeof pending;
      }
    }));
  } catch {
    // What was not written is refreshed by the next slot's claimer; the claimer itself answers from what it saw.
  }
  return items[shard];
}

/** Decides from a seen item what the view says about one instance. */
export function decide(seenItem: Record<string, any> | undefined, instance: ViewInstance, now?: Date): ViewAnswer {
  if (!seenItem) return { state: 'not-yet', reason: 'the run\'s snapshot view has not been refreshed yet' };
  if (typeof seenItem[DENIED] === 'string') return { state: 'off', reason: `the run's snapshot view could not describe snapshots: ${seenItem[DENIED]}` };
  const entry = (seenItem[SEEN] ?? {})[instance.instanceId] as SeenSnapshot[] | undefined;
  const at = String(seenItem[REFRESHED_AT] ?? '');
  if (!entry) {
    return { state: 'not-yet', reason: `the run's snapshot view (refreshed ${at}) has not seen this instance's registration yet`, unregistered: true };
  }
  const ids: string[] = [];
  let capturedAt = 0;
  for (let index = 0; index < instance.volumeIds.length; index++) {
    // A snapshot counts once it started, and no later than this look (a StartTime after the look's own clock is clock
    // skew: in the simulator, another chain's refresh read this instance's clock after it moved on; on AWS, seconds of
    // skew between Lambda and EC2): the release never precedes the point in time it claims.
    const started = entry.filter(([, v, state, start]) => Number(v) === index && STARTED.includes(state)
      && (now === undefined || Number(start) <= now.getTime()));
    if (started.length === 0) {
      return {
        state: 'not-yet',
        reason: `no snapshot of ${instance.volumeIds[index]} started since ${instance.jobRequestedAt} (snapshot view refreshed ${at})`,
      };
    }
    ids.push(...started.map(([id]) => id));
    capturedAt = Math.max(capturedAt, Math.min(...started.map(([, , , start]) => Number(start))));
  }
  const when = new Date(capturedAt).toISOString();
  return {
    state: 'captured',
    snapshotIds: ids,
    capturedAt: when,
    reason: `snapshots started: ${ids.join(',')}`,
  };
}

/**
 * One look through the view: reads the shard's seen item; when it was not refreshed in this look's slot, or not since
 * this chain's previous look (`lastRefreshId`, 10 s ago: a refresh is overdue), claims the slot and, if won, refreshes;
 * a chain that lost the slot's claim but saw no refresh since its previous look claims the slot's one overdue refresh
 * (`<slot>F`): at most two refreshes per run and slot, and no chain waits on a refresh that does not come (a claimer
 * that failed; in the simulator, a chain whose clock is behind the one that claimed its slot). Registration is the
 * caller's (registerInstance).
 */
export async function lookThroughView(
  target: SnapshotViewTarget, instance: ViewInstance, now: Date, lastRefreshId?: string,
): Promise<ViewAnswer & { readonly refreshId?: string }> {
  const shard = shardOf(instance.instanceId);
  let seen: Record<string, any> | undefined;
  try {
    seen = await getItem(target, snapshotViewSeenKey(target.executionId, shard));
    const slot = slotOf(now.getTime());
    const overdue = lastRefreshId !== undefined && seen !== undefined && seen[REFRESH_ID] === lastRefreshId;
    if (!seen || Number(seen[REFRESHED_SLOT]) !== slot || overdue) {
      if (await claimRefresh(target, slot, instance.instanceId, now)) {
        seen = (await refreshView(target, slot, shard, now, `${slot}`)) ?? seen;
      } else if (overdue && await claimRefresh(target, `${slot}F`, instance.instanceId, now)) {
        seen = (await refreshView(target, slot, shard, now, `${slot}F`)) ?? seen;
      }
    }
  } catch (err) {
    if (denied(err)) return { state: 'off', reason: `the snapshot view's table access denied (${errorCode(err)})` };
    rethrowClassified(err, 'snapshot view look');
  }
  const refreshId = typeof seen?.[REFRESH_ID] === 'string' ? String(seen[REFRESH_ID]) : undefined;
  return { ...decide(seen, instance, now), ...(refreshId ? { refreshId } : {}) };
}
