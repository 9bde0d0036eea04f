/**
 * Fleet benchmark: runs the synthesized workflow in the local simulator for fleets of 1, 10, 100 and 1,000
 * instances (all toggles on) and prints, per run, what a real execution would cost and how long instances
 * stay stopped. Figures come from the simulator's counters and virtual clock, not from wall-clock timing.
 *
 *   npx projen benchmark                 # 1, 10, 100, 1000
 *   npx projen benchmark -- 1 10         # chosen fleet sizes
 *
 * The scenario: every script takes about 5 minutes and every backup job about 60 minutes. The fakes advance
 * by observations, so durations are expressed as the number of polls the workflow's backoff needs to cover
 * them (see SCRIPT_POLLS and BACKUP_RUNNING_POLLS below).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { ExampleBackupStack } from '../examples/app/stack';
import { backupPolicy, nextPoll, scriptPolicy } from '../src/runtime/poll';
import { Simulator } from '../test/simulator/simulator';

const SCRIPT_SECONDS = 300;
/** Fleet-level states of a successful run: start, validate, discover, Map, run record, choice, succeed. */
const TOP_LEVEL_STATES = 7;
/** Fleet-level Lambda calls: validate, discover, run record. */
const TOP_LEVEL_LAMBDAS = 3;
/** MapRunStarted and MapRunSucceeded, with the Map state's own events counted as a state. */
const MAP_RUN_EVENTS = 2;
const MAX_CONCURRENCY = 10;
const BACKUP_SECONDS = 3600;
const backupTimes = { startWindowMinutes: 60, completeWindowMinutes: 480 };

/** Number of checks after which a poll with this policy has covered `seconds` of nominal time. */
function pollsToCover(seconds: number, policy: ReturnType<typeof scriptPolicy>): number {
  let poll = nextPoll(null, policy);
  let polls = 0;
  while (poll.elapsedSeconds + poll.nextWaitSeconds < seconds && !poll.expired) {
    poll = nextPoll(poll, policy);
    polls++;
  }
  return polls + 1;
}

const SCRIPT_POLLS = pollsToCover(SCRIPT_SECONDS, scriptPolicy(600));
const BACKUP_RUNNING_POLLS = pollsToCover(BACKUP_SECONDS, backupPolicy(backupTimes)) - 2;

interface Row {
  readonly instances: number;
  readonly status: string;
  readonly transitions: number;
  readonly transitionsPerInstance: number;
  readonly lambdaPerInstance: number;
  readonly apiPerInstance: number;
  readonly largestPayloadBytes: number;
  readonly historyEvents: number;
  readonly chainMinutes: number;
  readonly runMinutes: number;
  readonly stoppedOverheadSeconds: number;
  readonly wallSeconds: number;
}

async function runFleet(size: number): Promise<Row> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppsb-bench-'));
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new ExampleBackupStack(app, 'Bench', { stopInstances: true }, { env: { account: '123456789012', region: 'us-east-1' } });
  const template = app.synth().getStackByName(stack.stackName).template;
  const sim = await Simulator.start({
    template,
    assetDir: outdir,
    env: { LOG_LEVEL: 'silent' },
    world: { scriptInProgressPolls: SCRIPT_POLLS - 1, backupPolls: { created: 1, pending: 1, running: BACKUP_RUNNING_POLLS } },
  });
  try {
    sim.world.addInstances(Array.from({ length: size }, (_, i) => ({
      id: `i-${(i + 1).toString(16).padStart(17, '0')}`,
      tags: { 'backup-job-pre-post-script': 'true' },
    })));
    const started = Date.now();
    const result = await sim.run({}, { executionName: `bench-${size}` });
    const wallSeconds = (Date.now() - started) / 1000;
    const s = result.stats;
    const lambda = Object.values(s.lambdaInvocations).reduce((a, b) => a + b, 0);
    const api = Object.values(s.apiCalls).reduce((a, b) => a + b, 0);
    // Step Functions history: each state adds an Entered and an Exited event, each Lambda attempt Scheduled,
    // Started and Succeeded/Failed, each execution Started and Succeeded/Failed. The distributed Map runs every
    // instance's chain as a child execution, so the parent holds the fleet-level states (and a few Map Run
    // events) and the largest history is one child's: estimated here as the average child (no faults).
    const parentTransitions = TOP_LEVEL_STATES;
    const parentLambda = TOP_LEVEL_LAMBDAS;
    const parentHistory = 2 * parentTransitions + 3 * parentLambda + 2 + MAP_RUN_EVENTS;
    const childHistory = Math.ceil((2 * (s.stateTransitions - parentTransitions) + 3 * (lambda - parentLambda)) / size) + 2;
    const historyEvents = Math.max(parentHistory, childHistory);
    // The instance is stopped while the backup job is polled and until the start completes.
    const iterations = Object.values(s.iterations)[0] ?? [];
    const stopped = iterations.map(it => (it.byState['Backup job: wait'] ?? 0) + (it.byState['Start instance: wait'] ?? 0));
    const stoppedOverheadSeconds = stopped.length ? Math.max(...stopped) - BACKUP_SECONDS : 0;
    return {
      instances: size,
      status: result.status,
      transitions: s.stateTransitions,
      transitionsPerInstance: s.stateTransitions / size,
      lambdaPerInstance: lambda / size,
      apiPerInstance: api / size,
      largestPayloadBytes: s.largestStatePayloadBytes,
      historyEvents,
      chainMinutes: s.virtualSeconds / 60,
      // The Map works on 10 instances at a time: the chains run in about ceil(size / 10) waves.
      runMinutes: Math.ceil(size / MAX_CONCURRENCY) * s.virtualSeconds / 60,
      stoppedOverheadSeconds,
      wallSeconds,
    };
  } finally {
    await sim.stop();
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter(n => n > 0);
  const fleets = sizes.length ? sizes : [1, 10, 100, 1000];
  console.log(`Scenario: all toggles on, scripts ~${SCRIPT_SECONDS / 60} min (${SCRIPT_POLLS} polls), backup jobs ~${BACKUP_SECONDS / 60} min ` +
    `(${BACKUP_RUNNING_POLLS + 2} polls), maxConcurrency 10, a distributed Map with one child execution per instance.\n`);
  const header = ['instances', 'status', 'transitions', 'trans/inst', 'lambda/inst', 'api/inst', 'max payload B',
    'history events', 'history limit', 'chain min', 'run min', 'stopped beyond job s', 'wall s'];
  console.log(header.join(' | '));
  for (const size of fleets) {
    const r = await runFleet(size);
    console.log([
      r.instances, r.status, r.transitions, r.transitionsPerInstance.toFixed(1), r.lambdaPerInstance.toFixed(1),
      r.apiPerInstance.toFixed(1), r.largestPayloadBytes, r.historyEvents,
      r.historyEvents > 25000 ? 'OVER 25,000' : 'ok', r.chainMinutes.toFixed(0), r.runMinutes.toFixed(0), r.stoppedOverheadSeconds, r.wallSeconds.toFixed(1),
    ].join(' | '));
  }
  console.log('\nchain min: the longest instance chain in virtual time; run min: ceil(instances / 10) waves of it.');
  console.log('stopped beyond job s: virtual seconds an instance stays stopped beyond the job\'s own 60 minutes.');
  console.log('history events: the largest single execution (one instance\'s child execution), estimated from states and');
  console.log('Lambda attempts (Standard limit: 25,000 per execution).');
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
