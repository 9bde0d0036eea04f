/**
 * Fleet benchmark: runs the synthesized workflow in the local simulator (virtual time: every script takes 5 minutes,
 * every backup job 50 minutes, a stop or start 1 minute, the SSM agent 30 s to reconnect after a start) for fleets of
 * 1 to 10,000 instances, all toggles on, and prints per run what a real execution would cost and how long instances
 * stay stopped. State-change events are delivered as AWS documents them (the simulator's default, docs/fidelity/events.md):
 * AWS Backup's at its next 5-minute batch (a tenth one batch later), EC2's and SSM's up to a minute late, 5 % lost,
 * 10 % delivered twice. Three ways of waiting, from the same simulator:
 *
 *   events    the default: each wait is one Task resumed by the resource's state-change event
 *   polling   Wait → check → Choice loops with capped backoff (context cdk-pre-post-script-backup:waits = polling)
 *   baseline  the original sample's polling: scripts every 1 s, backups every 10 s (stop/start and agent every 1 s)
 *
 *   npx projen benchmark                                  # events and polling: 1, 10, 100, 1000; baseline: 1, 10
 *   npx projen benchmark -- --sizes 1,10,10000 --strategies events
 *
 * Figures come from the simulator's counters and virtual clocks, never from wall-clock timing (wall s is only how
 * long the simulation took).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { dynamoCounts, runCost } from './cost';
import { BackupScript, PrePostScriptBackup } from '../src';
import { PAGE_SIZE } from '../src/contract/fleet';
import { ReleaseTiming } from '../src/pre-post-script-backup/props';
import { FIXED_POLL_CONTEXT_KEY, WAITS_CONTEXT_KEY } from '../src/workflow/waiting-task';
import { whereItEnded } from '../test/helpers/harness';
import { throttledCalls } from '../test/simulator/fakes/throttling';
import { InstanceStats } from '../test/simulator/measures';
import { Simulator } from '../test/simulator/simulator';
import { ApiCall, Durations, World, WorldOptions } from '../test/simulator/world';

// 50 minutes, not 60: a 60-minute job ends 4 s before the backup wait's 5th fallback look (every 901 s), which would
// hide how late the job's event comes; a 50-minute one ends 604 s before the next look.
const DURATIONS = { scriptSeconds: 300, backupSeconds: 3000, copySeconds: 600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30 };
const MAX_CONCURRENCY = 10;

export type Strategy = 'events' | 'polling' | 'baseline';
export const CONTEXT: Record<Strategy, Record<string, string>> = {
  events: { [WAITS_CONTEXT_KEY]: 'events' },
  polling: { [WAITS_CONTEXT_KEY]: 'polling' },
  baseline: { [WAITS_CONTEXT_KEY]: 'polling', [FIXED_POLL_CONTEXT_KEY]: JSON.stringify({ script: 1, backup: 10, power: 1, agent: 1 }) },
};

/** What a benchmark varies besides the strategy and the fleet size (benchmarks/release.ts). */
export interface FleetScenario {
  /** @default DURATIONS */
  readonly durations?: Durations;
  /** @default MAX_CONCURRENCY */
  readonly maxConcurrency?: number;
  /** @default - the construct's default */
  readonly releaseAt?: ReleaseTiming;
  /** Other world options (start delays, throttling). */
  readonly world?: Partial<WorldOptions>;
  /** Print the simulation's progress (API calls so far, the latest virtual second) this often, in wall seconds. @default - silent */
  readonly progressEverySeconds?: number;
  /** Whether the backup stops each instance (the stop path). @default true */
  readonly stopInstances?: boolean;
}

/** Per-instance figures from the stand-ins' clocks (virtual seconds). */
export interface InstanceFigures {
  /** Pre-script end (its SendCommand + the script's duration) → the post-script's SendCommand, per instance with both. */
  readonly freezeSeconds: number[];
  /** Each freeze minus the start delay of the instance's backup job (AWS Backup's wait before the job runs). */
  readonly freezeBeyondStartDelaySeconds: number[];
  /** Reaching `stopped` → the StartInstances request, summed per stopped instance. */
  readonly stoppedSeconds: number[];
  /** Each instance's chain, in discovery order (its child execution, on the instance's clock). */
  readonly chainSeconds: number[];
  /** Throttled calls per bucket (world.throttling). */
  readonly throttled: Record<string, number>;
  /**
   * Calls per instance to the APIs whose rates the fleet shares (EC2, SSM, AWS Backup), by `service:Action`, refused
   * ones included: what the entry rate multiplies (docs/design.md "Fleet scale").
   */
  readonly callsPerInstance: Record<string, number>;
  /** Instances whose audit entry says FAILED. */
  readonly failedInstances: number;
  /** Audit entries per ReleaseReason (none when the entry has no release). */
  readonly releaseReasons: Record<string, number>;
  /** Audit entries per Consistency. */
  readonly consistency: Record<string, number>;
}

/** How many of the values are each one. */
function tally(values: readonly unknown[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const key = typeof v === 'string' && v !== '' ? v : 'none';
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

export interface Row {
  readonly strategy: Strategy;
  readonly instances: number;
  readonly status: string;
  readonly transitionsPerInstance: number;
  readonly lambdaPerInstance: number;
  readonly apiPerInstance: number;
  readonly maxHistoryEvents: number;
  readonly largestPayloadBytes: number;
  readonly chainMinutes: number;
  readonly runHours: number;
  readonly stoppedBeyondJobSeconds: number;
  readonly meanBeyondJobSeconds: number;
  readonly eventsLostPerInstance: number;
  readonly eventsDuplicatedPerInstance: number;
  readonly dollarsPer1000: number;
  readonly auditEntries: number;
  readonly largestItemBytes: number;
  readonly wallSeconds: number;
  readonly figures: InstanceFigures;
}

/** The example app's backup (examples/app/stack.ts: its scripts and tag), all toggles on, with the scenario's settings. */
function benchStack(app: App, scenario: FleetScenario): Stack {
  const stack = new Stack(app, 'Bench', { env: { account: '123456789012', region: 'us-east-1' } });
  const scripts = path.join(__dirname, '..', 'examples', 'app', 'scripts');
  new PrePostScriptBackup(stack, 'AppBackup', {
    tagKey: 'backup-job-pre-post-script',
    tagValue: 'true',
    preScript: BackupScript.fromAsset(path.join(scripts, 'freeze.sh')),
    postScript: BackupScript.fromAsset(path.join(scripts, 'thaw.sh')),
    stopInstances: scenario.stopInstances ?? true,
    schedule: events.Schedule.cron({ hour: '2', minute: '0' }),
    maxConcurrency: scenario.maxConcurrency ?? MAX_CONCURRENCY,
    releaseAt: scenario.releaseAt,
  });
  return stack;
}

/** Freeze and stopped seconds of every instance, from the SSM and EC2 stand-ins' records. */
function instanceFigures(
  world: World, ids: string[], stats: Record<string, InstanceStats>,
): Pick<InstanceFigures, 'freezeSeconds' | 'freezeBeyondStartDelaySeconds' | 'stoppedSeconds'> {
  const freezeSeconds: number[] = [];
  const freezeBeyondStartDelaySeconds: number[] = [];
  for (const id of ids) {
    const invocations = world.invocationsByInstance.get(id) ?? [];
    const pre = invocations.find(i => i.phase === 'pre');
    const post = pre && invocations.find(i => i.phase === 'post' && i.startedAt >= pre.startedAt);
    if (!pre || !post) continue;
    const freeze = post.startedAt - (pre.startedAt + world.durationsOf(id).scriptSeconds);
    freezeSeconds.push(freeze);
    const job = world.backupJobsFor(id)[0];
    if (job) freezeBeyondStartDelaySeconds.push(freeze - (job.startDelaySeconds ?? 0));
  }
  const stoppedSeconds = ids.map(id => stats[id]?.downtimeSeconds).filter((v): v is number => v !== undefined);
  return { freezeSeconds, freezeBeyondStartDelaySeconds, stoppedSeconds };
}

/** Calls per instance to EC2, SSM and AWS Backup, by `service:Action`, in name order. */
export function callsPerInstance(calls: readonly ApiCall[], instances: number): Record<string, number> {
  const counts = new Map<string, number>();
  for (const c of calls) {
    if (c.service !== 'ec2' && c.service !== 'ssm' && c.service !== 'backup') continue;
    const key = `${c.service}:${c.action}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Object.fromEntries([...counts.keys()].sort().map((k) => [k, Math.round((counts.get(k)! / instances) * 100) / 100]));
}

export async function runFleet(strategy: Strategy, size: number, scenario: FleetScenario = {}): Promise<Row> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppsb-bench-'));
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true, ...CONTEXT[strategy] } });
  const stack = benchStack(app, scenario);
  const template = app.synth().getStackByName(stack.stackName).template;
  const durations = scenario.durations ?? DURATIONS;
  const sim = await Simulator.start({ template, assetDir: outdir, env: { LOG_LEVEL: 'silent' }, world: { ...scenario.world, durations } });
  try {
    const ids = Array.from({ length: size }, (_, i) => `i-${(i + 1).toString(16).padStart(17, '0')}`);
    sim.world.addInstances(ids.map(id => ({ id, tags: { 'backup-job-pre-post-script': 'true' } })));
    const started = Date.now();
    const progress = scenario.progressEverySeconds ? setInterval(() => {
      const calls = sim.world.calls;
      const latest = calls.slice(-10_000).reduce((m, c) => Math.max(m, c.at), 0);
      console.error(`  ${((Date.now() - started) / 1000).toFixed(0)} s wall: ${calls.length} API calls, virtual second ${latest.toFixed(0)}`);
    }, scenario.progressEverySeconds * 1000) : undefined;
    const result = await sim.run({}, { executionName: `bench-${strategy}-${size}` }).finally(() => clearInterval(progress));
    const wallSeconds = (Date.now() - started) / 1000;
    // The audit record, read back from the table: every instance's entry, and the largest item (DynamoDB: 400 KB).
    const items = (await sim.scanTable()).filter(i => i.SM_Execution_ID === result.executionArn || i.Run_Execution_ID === result.executionArn);
    const entries = items.filter(i => i.RecordType === 'INSTANCE' && typeof i.Outcome === 'string');
    const auditEntries = entries.length;
    // Where the first failed instances failed (stderr, so that the printed table stays a table).
    for (const e of entries.filter(i => i.Outcome !== 'SUCCEEDED').slice(0, 20)) {
      console.error(`  ${whereItEnded(e)}`);
    }
    const largestItemBytes = Math.max(0, ...items.map(i => Buffer.byteLength(JSON.stringify(i))));
    const s = result.stats;
    const lambda = Object.values(s.lambdaInvocations).reduce((a, b) => a + b, 0);
    const api = Object.values(s.apiCalls).reduce((a, b) => a + b, 0);
    const dynamo = dynamoCounts(s.apiCalls);
    const cost = runCost({ transitions: s.billedTransitions, lambdaInvocations: lambda, dynamoWrites: dynamo.writes, dynamoReads: dynamo.reads });
    const instances = Object.values(s.instances);
    const chainSeconds = Math.max(0, ...instances.map(i => i.chainSeconds ?? 0));
    const beyond = instances.map(i => i.stoppedBeyondBackupSeconds).filter((v): v is number => v !== undefined);
    return {
      strategy,
      instances: size,
      status: result.status,
      transitionsPerInstance: s.billedTransitions / size,
      lambdaPerInstance: lambda / size,
      apiPerInstance: api / size,
      maxHistoryEvents: s.maxHistoryEvents,
      largestPayloadBytes: s.largestStatePayloadBytes,
      chainMinutes: chainSeconds / 60,
      runHours: runSeconds(size, chainSeconds) / 3600,
      stoppedBeyondJobSeconds: beyond.length ? Math.max(...beyond) : NaN,
      meanBeyondJobSeconds: beyond.length ? beyond.reduce((a, b) => a + b, 0) / beyond.length : NaN,
      eventsLostPerInstance: s.eventsLost / size,
      eventsDuplicatedPerInstance: s.eventsDuplicated / size,
      dollarsPer1000: cost / size * 1000,
      auditEntries,
      largestItemBytes,
      wallSeconds,
      figures: {
        ...instanceFigures(sim.world, ids, s.instances),
        chainSeconds: ids.map(id => s.instances[id]?.chainSeconds ?? 0),
        throttled: throttledCalls(sim.world),
        callsPerInstance: callsPerInstance(sim.world.calls, size),
        failedInstances: entries.filter(i => i.Outcome === 'FAILED').length,
        releaseReasons: tally(entries.map(i => i.ReleaseReason)),
        consistency: tally(entries.map(i => i.Consistency)),
      },
    };
  } finally {
    await sim.stop();
  }
}

/**
 * How long a real run of identical chains takes: one page after another, and within a page maxConcurrency chains at a
 * time, so ceil(page / maxConcurrency) waves of one chain per page. (The simulator starts every iteration of a page
 * at once; its clocks give one chain's duration, not the waves.)
 */
function runSeconds(size: number, chainSeconds: number): number {
  let waves = 0;
  for (let left = size; left > 0; left -= PAGE_SIZE) waves += Math.ceil(Math.min(left, PAGE_SIZE) / MAX_CONCURRENCY);
  return waves * chainSeconds;
}

/**
 * The makespan of a real run from each chain's measured duration (its entry wait included): pages of `pageSize`
 * instances in discovery order; floor(maxConcurrency / min(maxConcurrency, pageSize)) pages at once (the pages'
 * Map), the next page starting when one ends; within a page a Map Run that starts the next chain as soon as one of its
 * min(maxConcurrency, pageSize) slots is free. src/workflow/definition.ts `concurrency` decides the same split.
 */
export function makespanSeconds(chainSeconds: readonly number[], maxConcurrency: number, pageSize = PAGE_SIZE): number {
  const perPage = Math.max(1, Math.min(maxConcurrency, pageSize));
  const pageSlots = new Array<number>(Math.max(1, Math.floor(maxConcurrency / perPage))).fill(0);
  let end = 0;
  for (let first = 0; first < chainSeconds.length; first += pageSize) {
    const slots = new Array<number>(perPage).fill(0);
    let pageSeconds = 0;
    for (const d of chainSeconds.slice(first, first + pageSize)) {
      let k = 0;
      for (let j = 1; j < slots.length; j++) if (slots[j] < slots[k]) k = j;
      slots[k] += d;
      pageSeconds = Math.max(pageSeconds, slots[k]);
    }
    let p = 0;
    for (let j = 1; j < pageSlots.length; j++) if (pageSlots[j] < pageSlots[p]) p = j;
    pageSlots[p] += pageSeconds;
    end = Math.max(end, pageSlots[p]);
  }
  return end;
}

export function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const sizes = option('sizes')?.split(',').map(Number).filter(n => n > 0);
  const strategies = (option('strategies')?.split(',') ?? ['events', 'polling', 'baseline']) as Strategy[];
  console.log(`Scenario: all toggles on (pre-script, stop, post-script), scripts ${DURATIONS.scriptSeconds / 60} min, backup jobs `
    + `${DURATIONS.backupSeconds / 60} min, stop/start ${DURATIONS.stopSeconds} s, agent reconnect ${DURATIONS.agentReconnectSeconds} s, `
    + `maxConcurrency ${MAX_CONCURRENCY}, a distributed Map with one child execution per instance, pages of 1,000 instances.\n`);
  const header = ['strategy', 'instances', 'status', 'transitions/inst', 'lambda/inst', 'api/inst', 'max history events',
    'max payload B', 'chain min', 'run h', 'stopped beyond job s (max)', 'stopped beyond job s (mean)', 'events lost/inst',
    'events twice/inst', '$ per 1,000 backups', 'audit entries', 'largest item B', 'wall s'];
  console.log(header.join(' | '));
  console.log(header.map(() => '---').join(' | '));
  for (const strategy of strategies) {
    const fleets = sizes ?? (strategy === 'baseline' ? [1, 10] : [1, 10, 100, 1000]);
    for (const size of fleets) {
      const r = await runFleet(strategy, size);
      console.log([
        r.strategy, r.instances, r.status, r.transitionsPerInstance.toFixed(1), r.lambdaPerInstance.toFixed(1),
        r.apiPerInstance.toFixed(1), r.maxHistoryEvents, r.largestPayloadBytes, r.chainMinutes.toFixed(1),
        r.runHours.toFixed(1), Number.isNaN(r.stoppedBeyondJobSeconds) ? '-' : r.stoppedBeyondJobSeconds.toFixed(0),
        Number.isNaN(r.meanBeyondJobSeconds) ? '-' : r.meanBeyondJobSeconds.toFixed(0), r.eventsLostPerInstance.toFixed(2),
        r.eventsDuplicatedPerInstance.toFixed(2), r.dollarsPer1000.toFixed(2), r.auditEntries, r.largestItemBytes, r.wallSeconds.toFixed(1),
      ].join(' | '));
    }
  }
  console.log('\ntransitions/inst: states entered plus retries (what Step Functions Standard bills), fleet level included.');
  console.log('max history events: the largest single execution (the parent or one instance\'s child execution); limit 25,000.');
  console.log('chain min: the longest instance chain in virtual time; run h: pages one after another, each in');
  console.log('ceil(page / maxConcurrency) waves of that chain (pages of 1,000).');
  console.log('stopped beyond job s: how long instances stayed stopped after their backup job ended (StartInstances requested),');
  console.log('the longest and the mean: up to 5 min (10 min when the event misses its batch) when the job\'s event arrives, up to');
  console.log('15 min + 1 s (the backup wait\'s fallback look) when it is lost. events lost / twice: per instance, all kinds.');
  console.log('audit entries: instance entries of the run in the table; largest item B: its largest item (run record');
  console.log('included), as JSON (DynamoDB limit 400 KB).');
  console.log('$ per 1,000 backups: Step Functions transitions, Lambda requests and GB-seconds (256 MB, 200 ms assumed per');
  console.log('invocation) and DynamoDB requests at us-east-1 list prices; AWS service events on the default bus are free.');
}

if (require.main === module) {
  main().catch(err => {
    console.error(err);
    process.exit(1);
  });
}
