/**
 * Token-bucket throttling in simulated time, on when the world's `throttling` option is set (off by default).
 * The rates and the error each service answers are AWS's where documented (docs/fidelity/ec2.md, backup.md, ssm.md);
 * SSM documents none, so its buckets are a conservative choice, marked as such.
 *
 * Time: the simulator has one clock per instance chain and none is the account's; each call is judged at its own
 * chain's time against the draws of every chain (see checkThrottle).
 */
import { BucketRate, FakeApiError, ServiceName, World } from '../world';

/** Bucket name -> the actions that draw from it (the first match wins; `*` = any other action of the service). */
interface BucketSpec extends BucketRate {
  readonly service: ServiceName;
  /** What the bucket counts: requests, or (EC2 resource buckets) instances named in the request. */
  readonly unit: 'request' | 'resource';
  readonly actions: readonly string[];
  /** EC2: only unfiltered and unpaginated requests draw from this bucket (instead of the action's normal one). */
  readonly unfilteredOnly?: boolean;
}

/**
 * The documented buckets. EC2: https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html ;
 * AWS Backup: https://docs.aws.amazon.com/general/latest/gr/bk.html (calls per second: capacity = one second's worth,
 * as the page gives no burst); SSM: undocumented (https://docs.aws.amazon.com/general/latest/gr/ssm.html lists no Run
 * Command rate), conservative choice.
 */
export const DEFAULT_BUCKETS: Readonly<Record<string, BucketSpec>> = {
  // EC2 request buckets, per API ("each API is evaluated individually").
  'ec2:DescribeInstances:unfiltered': { service: 'ec2', unit: 'request', actions: ['DescribeInstances'], unfilteredOnly: true, capacity: 50, refillPerSecond: 10 },
  'ec2:DescribeSnapshots:unfiltered': { service: 'ec2', unit: 'request', actions: ['DescribeSnapshots'], unfilteredOnly: true, capacity: 50, refillPerSecond: 10 },
  'ec2:DescribeInstances': { service: 'ec2', unit: 'request', actions: ['DescribeInstances'], capacity: 100, refillPerSecond: 20 },
  'ec2:DescribeSnapshots': { service: 'ec2', unit: 'request', actions: ['DescribeSnapshots'], capacity: 100, refillPerSecond: 20 },
  'ec2:DescribeImages': { service: 'ec2', unit: 'request', actions: ['DescribeImages'], capacity: 100, refillPerSecond: 20 },
  'ec2:StopInstances': { service: 'ec2', unit: 'request', actions: ['StopInstances'], capacity: 50, refillPerSecond: 5 },
  'ec2:StartInstances': { service: 'ec2', unit: 'request', actions: ['StartInstances'], capacity: 5, refillPerSecond: 2 },
  // EC2 resource buckets (instances affected by the request).
  'ec2:StopInstances:instances': { service: 'ec2', unit: 'resource', actions: ['StopInstances'], capacity: 1000, refillPerSecond: 20 },
  'ec2:StartInstances:instances': { service: 'ec2', unit: 'resource', actions: ['StartInstances'], capacity: 1000, refillPerSecond: 2 },
  // AWS Backup, per API, plus the account's sum of all calls.
  'backup:StartBackupJob': { service: 'backup', unit: 'request', actions: ['StartBackupJob'], capacity: 5, refillPerSecond: 5 },
  'backup:StopBackupJob': { service: 'backup', unit: 'request', actions: ['StopBackupJob'], capacity: 5, refillPerSecond: 5 },
  'backup:StartCopyJob': { service: 'backup', unit: 'request', actions: ['StartCopyJob'], capacity: 5, refillPerSecond: 5 },
  'backup:DescribeBackupJob': { service: 'backup', unit: 'request', actions: ['DescribeBackupJob'], capacity: 15, refillPerSecond: 15 },
  'backup:DescribeCopyJob': { service: 'backup', unit: 'request', actions: ['DescribeCopyJob'], capacity: 15, refillPerSecond: 15 },
  'backup:ListBackupJobs': { service: 'backup', unit: 'request', actions: ['ListBackupJobs'], capacity: 20, refillPerSecond: 20 },
  'backup:ListCopyJobs': { service: 'backup', unit: 'request', actions: ['ListCopyJobs'], capacity: 20, refillPerSecond: 20 },
  'backup:*': { service: 'backup', unit: 'request', actions: ['*'], capacity: 50, refillPerSecond: 50 },
  // SSM: undocumented; conservative.
  'ssm:SendCommand': { service: 'ssm', unit: 'request', actions: ['SendCommand', 'CancelCommand'], capacity: 10, refillPerSecond: 5 },
  'ssm:reads': { service: 'ssm', unit: 'request', actions: ['GetCommandInvocation', 'ListCommandInvocations', 'ListCommands', 'DescribeInstanceInformation'], capacity: 20, refillPerSecond: 10 },
};

/** The error each service answers when a bucket is empty. */
export const THROTTLING_ERRORS: Readonly<Record<'ec2' | 'backup' | 'ssm', { code: string; message: string; httpStatus: number }>> = {
  ec2: { code: 'RequestLimitExceeded', message: 'Request limit exceeded.', httpStatus: 503 },
  backup: { code: 'ThrottlingException', message: 'Rate exceeded', httpStatus: 400 },
  ssm: { code: 'ThrottlingException', message: 'Rate exceeded', httpStatus: 400 },
};

/** The draws a bucket has granted, in virtual-time order (one entry per token). */
interface Bucket { readonly times: number[]; readonly spec: BucketSpec }

interface State {
  readonly buckets: Map<string, Bucket>;
  /** Throttled calls per bucket name. */
  readonly throttled: Map<string, number>;
  /** world.calls.length at the last check (a drop means the world was reset). */
  callsSeen: number;
}
const states = new WeakMap<World, State>();

function stateOf(world: World): State {
  let s = states.get(world);
  if (!s) states.set(world, s = { buckets: new Map(), throttled: new Map(), callsSeen: 0 });
  return s;
}

function specs(world: World): Record<string, BucketSpec> {
  const t = world.options.throttling;
  if (t === true || t === false) return { ...DEFAULT_BUCKETS };
  const out: Record<string, BucketSpec> = { ...DEFAULT_BUCKETS };
  for (const [name, rate] of Object.entries(t)) {
    const base = DEFAULT_BUCKETS[name];
    if (!base) throw new Error(`throttling: no bucket named ${name} (known: ${Object.keys(DEFAULT_BUCKETS).join(', ')})`);
    out[name] = { ...base, ...rate };
  }
  return out;
}

/** The buckets one call draws from. */
function bucketsFor(all: Record<string, BucketSpec>, service: ServiceName, action: string, filteredOrPaginated: boolean): string[] {
  const names: string[] = [];
  for (const [name, spec] of Object.entries(all)) {
    if (spec.service !== service || spec.actions.includes('*')) continue;
    if (!spec.actions.includes(action)) continue;
    if (spec.unfilteredOnly && filteredOrPaginated) continue;
    // An unfiltered request draws from the smaller bucket instead of the action's normal one.
    if (!spec.unfilteredOnly && spec.unit === 'request' && !filteredOrPaginated
      && Object.values(all).some((o) => o.unfilteredOnly && o.service === service && o.actions.includes(action))) continue;
    names.push(name);
  }
  for (const [name, spec] of Object.entries(all)) if (spec.service === service && spec.actions.includes('*')) names.push(name);
  return names;
}

/** First index of `times` (ascending) whose value is > t (upper) or >= t (lower). */
function bound(times: readonly number[], t: number, upper: boolean): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (times[mid] < t || (upper && times[mid] === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The longest window checked (seconds): a token bucket that starts full admits draws at times t1 <= ... <= tn iff
 * every window [a, t] holds at most capacity + refill x (t - a) of them; windows longer than this are not checked
 * (lenient for a rate only slightly above the refill sustained for longer).
 */
export function windowSeconds(spec: BucketRate): number {
  return Math.max(120, (10 * spec.capacity) / spec.refillPerSecond);
}

/** Whether `cost` more tokens at time t fit the bucket's draws so far (windows ending at t). */
function fits(b: Bucket, t: number, cost: number): boolean {
  const { capacity, refillPerSecond } = b.spec;
  const end = bound(b.times, t, true);
  const start = bound(b.times, t - windowSeconds(b.spec), false);
  if (end - start + cost <= capacity) return true;
  for (let i = start; i < end; i++) {
    if (end - i + cost > capacity + refillPerSecond * (t - b.times[i])) return false;
  }
  return true;
}

/**
 * Draw this call's tokens; throws the service's throttling error (and draws nothing) when a bucket lacks them.
 * `resources`: instances named by the request (EC2 resource buckets); `filteredOrPaginated`: EC2 Filter or MaxResults given.
 *
 * Time: the call's time is its instance's clock (the latest of the instances it names; the run clock for a call about
 * none). Each bucket keeps its granted draws in virtual-time order, and a call at t is refused when some window [a, t]
 * would hold more than capacity + refill x (t - a) draws: chains whose clocks differ (one spread over an hour, another
 * at its start) are judged at their own times, whatever order they reach the fake in. A call whose time is earlier
 * than draws already granted is checked against the windows ending at its own time only (the later ones are not
 * judged again: lenient, see the ledger rows).
 */
export function checkThrottle(world: World, service: ServiceName, action: string, instanceIds: string[],
  info: { resources?: number; filteredOrPaginated?: boolean; at?: number } = {}): void {
  if (!world.options.throttling || (service !== 'ec2' && service !== 'backup' && service !== 'ssm')) return;
  let st = stateOf(world);
  if (world.calls.length < st.callsSeen) {
    // The world was reset: a new run, fresh buckets.
    states.delete(world);
    st = stateOf(world);
  }
  st.callsSeen = world.calls.length;
  const all = specs(world);
  // `at`: the caller's own time, for a call that names no instance (issue 14: a DescribeSnapshots listing by volume).
  const now = info.at ?? (instanceIds.length > 0 ? Math.max(...instanceIds.map((id) => world.now(id))) : world.clock.runSeconds);
  const names = bucketsFor(all, service, action, info.filteredOrPaginated ?? true);
  const draws: Array<[Bucket, number]> = [];
  for (const name of names) {
    const spec = all[name];
    let b = st.buckets.get(name);
    if (!b) st.buckets.set(name, b = { times: [], spec });
    const cost = spec.unit === 'resource' ? Math.max(1, info.resources ?? 1) : 1;
    if (!fits(b, now, cost)) {
      st.throttled.set(name, (st.throttled.get(name) ?? 0) + 1);
      const err = THROTTLING_ERRORS[service];
      throw new FakeApiError(err);
    }
    draws.push([b, cost]);
  }
  for (const [b, cost] of draws) {
    const at = bound(b.times, now, true);
    b.times.splice(at, 0, ...new Array<number>(cost).fill(now));
  }
}

/** Throttled calls so far, by bucket name (for tests and measurements). */
export function throttledCalls(world: World): Record<string, number> {
  return Object.fromEntries(stateOf(world).throttled);
}

/** Forget every bucket (a world's `reset`). */
export function resetThrottling(world: World): void {
  states.delete(world);
}
