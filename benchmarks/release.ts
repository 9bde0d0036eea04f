/**
 * Release benchmark (issue 14): the same fleets, side by side in one run, for three ways of releasing the application:
 *
 *   point-in-time   releaseAt POINT_IN_TIME, waits on events (the construct's default waits)
 *   job-completion  releaseAt JOB_COMPLETION, waits on events
 *   baseline        the original sample's polling model (benchmarks/fleet.ts `baseline`: scripts every 1 s, backups
 *                   every 10 s), released at job completion
 *
 * Scenario: all toggles on (pre-script, stop, post-script), 5-minute scripts, 60-minute jobs that wait a seeded 30 s to
 * 10 min in CREATED first (the backup stand-in's `backupStartDelaySeconds`), stop/start 60 s, agent reconnect 30 s,
 * events delayed, lost and duplicated as AWS documents (the simulator's default), the construct's default
 * maxConcurrency unless --max-concurrency is given, throttling stand-ins on with --throttling.
 *
 *   npx projen benchmark -- ...   runs benchmarks/fleet.ts; this one:
 *   . tools/supported-node.sh && npx ts-node --project tsconfig.dev.json benchmarks/release.ts [--sizes 1,100] \
 *     [--modes point-in-time,job-completion,baseline] [--max-concurrency 1000] [--throttling] [--whole]
 *
 * Every figure comes from the stand-ins' virtual clocks: freeze = the pre-script's end (its SendCommand + the script's
 * duration) → the post-script's SendCommand; stopped = `stopped` → StartInstances; makespan = each chain's measured
 * duration (its entry wait included) scheduled as a real run would (`makespanSeconds`: pages sharing one entry
 * schedule, floor(maxConcurrency / 1,000) at a time). Fleets above 1,000 are derived from a measured page of 1,000
 * (`derivedChainSeconds`), which the row says; with --whole every instance of every size is simulated call by call
 * (10,000 instances: ten pages sharing one entry schedule, all chains against the same stand-ins and, with --throttling,
 * the same token buckets), with progress on stderr, and each row is followed by its release reasons and consistencies.
 */
import { makespanSeconds, option, Row, runFleet, Strategy } from './fleet';
import { PAGE_SIZE, pageEntry, PageEntry } from '../src/contract/fleet';
import { ReleaseTiming } from '../src/pre-post-script-backup/props';
import { DEFAULT_MAX_CONCURRENCY } from '../src/validation/props';
import { entrySpread } from '../src/workflow/definition';
import { Durations } from '../test/simulator/world';

type Mode = 'point-in-time' | 'job-completion' | 'baseline';
const MODES: Record<Mode, { strategy: Strategy; releaseAt: ReleaseTiming }> = {
  'point-in-time': { strategy: 'events', releaseAt: ReleaseTiming.POINT_IN_TIME },
  'job-completion': { strategy: 'events', releaseAt: ReleaseTiming.JOB_COMPLETION },
  'baseline': { strategy: 'baseline', releaseAt: ReleaseTiming.JOB_COMPLETION },
};

export const RELEASE_DURATIONS: Durations = {
  scriptSeconds: 300, backupSeconds: 3600, copySeconds: 600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30,
};
export const START_DELAY = { min: 30, max: 600 };

/** The q-quantile (nearest rank) of the values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function spread(values: readonly number[]): string {
  if (values.length === 0) return '- / - / -';
  return [quantile(values, 0.5), quantile(values, 0.99), Math.max(...values)].map(v => v.toFixed(0)).join(' / ');
}

function hours(seconds: number): string {
  return `${(seconds / 3600).toFixed(2)} h`;
}

/**
 * A fleet larger than one page, derived from a measured page of PAGE_SIZE: page p's chains are the measured page's,
 * entering p windows later when it runs beside the earlier pages (src/contract/fleet.ts `pageEntry`), the only
 * difference the schedule makes when the throttling stand-ins are off. Everything else (freeze, stopped, cost per
 * instance) is the measured page's.
 */
export function derivedChainSeconds(measured: readonly number[], size: number, maxConcurrency: number, releaseAt: ReleaseTiming): number[] {
  const schedule = entrySpread(maxConcurrency, releaseAt === ReleaseTiming.POINT_IN_TIME);
  const out: number[] = [];
  let previous: PageEntry | undefined;
  for (let p = 0; p * PAGE_SIZE < size; p++) {
    const items = Math.min(PAGE_SIZE, size - p * PAGE_SIZE);
    const entry: PageEntry = pageEntry(p, items, schedule, previous);
    for (let i = 0; i < items; i++) out.push(measured[i % measured.length] + entry.entryFromSeconds);
    previous = entry;
  }
  return out;
}

async function main(): Promise<void> {
  const sizes = (option('sizes') ?? '1,100,10000').split(',').map(Number).filter(n => n > 0);
  const modes = (option('modes') ?? 'point-in-time,job-completion,baseline').split(',') as Mode[];
  const maxConcurrency = Number(option('max-concurrency') ?? DEFAULT_MAX_CONCURRENCY);
  const throttling = process.argv.includes('--throttling');
  const whole = process.argv.includes('--whole');
  const stopInstances = !process.argv.includes('--no-stop');
  console.log(`Scenario: ${stopInstances ? 'all toggles on' : 'pre-script and post-script, no stop (--no-stop)'}, scripts ${RELEASE_DURATIONS.scriptSeconds / 60} min, backup jobs ${RELEASE_DURATIONS.backupSeconds / 60} min `
    + `after a start delay drawn from ${START_DELAY.min}-${START_DELAY.max} s, stop/start ${RELEASE_DURATIONS.stopSeconds} s, agent `
    + `${RELEASE_DURATIONS.agentReconnectSeconds} s, maxConcurrency ${maxConcurrency}, pages of 1,000, events as AWS documents, `
    + `throttling stand-ins ${throttling ? 'on (documented rates)' : 'off'}.\n`);
  const header = ['instances', 'mode', 'status', 'failed', 'freeze s p50/p99/max', 'beyond start delay s p50/p99/max', 'stopped s p50/p99/max', 'makespan',
    'transitions/inst', '$ per 1,000 backups', 'throttled calls', 'wall s'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  const tallies: string[] = [];
  const calls: string[] = [];
  for (const size of sizes) {
    for (const mode of modes) {
      const { strategy, releaseAt } = MODES[mode];
      // Larger than a page: one page measured, the fleet derived from it (derivedChainSeconds), said in the row; with
      // --whole, the whole fleet measured.
      const measuredSize = whole ? size : Math.min(size, PAGE_SIZE);
      const r: Row = await runFleet(strategy, measuredSize, {
        durations: RELEASE_DURATIONS,
        maxConcurrency,
        releaseAt,
        world: { backupStartDelaySeconds: START_DELAY, ...(throttling ? { throttling: true } : {}) },
        ...(whole ? { progressEverySeconds: 60 } : {}),
        stopInstances,
      });
      const f = r.figures;
      const throttled = Object.values(f.throttled).reduce((a, b) => a + b, 0);
      const chains = size > measuredSize ? derivedChainSeconds(f.chainSeconds, size, maxConcurrency, releaseAt) : f.chainSeconds;
      console.log(`| ${[
        size > measuredSize ? `${size} (derived from ${measuredSize})` : size, mode, r.status, f.failedInstances, spread(f.freezeSeconds), spread(f.freezeBeyondStartDelaySeconds), spread(f.stoppedSeconds),
        hours(makespanSeconds(chains, maxConcurrency)), r.transitionsPerInstance.toFixed(1), r.dollarsPer1000.toFixed(2),
        throttled, r.wallSeconds.toFixed(0),
      ].join(' | ')} |`);
      calls.push(`- ${measuredSize} ${mode}: AWS calls per instance ${JSON.stringify(f.callsPerInstance)}`);
      if (whole) {
        tallies.push(`- ${size} ${mode}: release reasons ${JSON.stringify(f.releaseReasons)}; consistency `
          + `${JSON.stringify(f.consistency)}; throttled calls per bucket ${JSON.stringify(f.throttled)}`);
      }
    }
  }
  if (tallies.length > 0) console.log(`\n${tallies.join('\n')}`);
  console.log(`\n${calls.join('\n')}`);
  console.log('\nfreeze s: pre-script end → post-script start, per instance (p50 / p99 / max); beyond start delay: each freeze minus its');
  console.log('backup job\'s start delay (the issue\'s goal: p99 at most 60 s); stopped s: stopped → StartInstances.');
  console.log('makespan: first chain start → last chain end: each chain\'s measured duration (its entry wait included), pages of');
  console.log('1,000 run floor(maxConcurrency / 1,000) at a time sharing one entry schedule. A size above 1,000 is derived from a');
  console.log('measured page of 1,000 (its page p enters p windows later). transitions/inst: states entered plus retries (billed).');
  console.log('$ per 1,000 backups: Step Functions transitions, Lambda requests and GB-seconds, DynamoDB requests (benchmarks/cost.ts).');
  console.log('throttled calls: refused by the throttling stand-ins (then retried by the SDK or the state machine).');
  console.log('AWS calls per instance: of the measured fleet, refused ones included; times the entry rate, the calls per second');
  console.log('each API\'s rate must hold (docs/design.md "Fleet scale").');
}

if (require.main === module) {
  main().catch(err => {
    console.error(err);
    process.exit(1);
  });
}
