/**
 * The example app, dry-run: synthesizes a stack holding PrePostScriptBackup, as a platform team writes it,
 * then runs the synthesized state machine and the bundled Lambda handlers locally against a simulated fleet
 * (loopback stand-ins for EC2, SSM, AWS Backup and DynamoDB). No AWS account or credentials are needed.
 *
 *   npx projen simulate                                   4 instances, one pre-backup script failing
 *   npx projen simulate --instances 10 --no-stop --fault 2:backup=EXPIRED --fault 5:agent=offline
 *   npx projen simulate --no-fault --input '{"RunPostBackupScript": false}'
 *   npx projen simulate --help
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { ExampleBackupStack } from './stack';
import { Simulator } from '../../test/simulator/simulator';
import { InstanceFaults, InstanceSpec } from '../../test/simulator/world';

const TAG_KEY = 'backup-job-pre-post-script';

const USAGE = `Usage: npx projen simulate [options]

  --instances N          fleet size (default 4)
  --stop / --no-stop     stop each instance for its backup (default: stop)
  --no-pre, --no-post    turn the pre- or post-backup script off
  --fault N:STEP=VALUE   make instance N (1-based) misbehave; repeatable. STEP=VALUE is one of
                           pre=Failed|TimedOut|Cancelled|hang   post=Failed|TimedOut|Cancelled|hang
                           backup=FAILED|ABORTED|EXPIRED|PARTIAL|hang   agent=offline|unmanaged
                           stop=error   start=never   windows=true   state=stopped|pending
  --no-fault             no failure at all (the default fault is 3:pre=Failed)
  --input JSON           the execution input (default {})
`;

interface Options {
  instances: number;
  stop: boolean;
  pre: boolean;
  post: boolean;
  faults: Map<number, string[]>;
  input: unknown;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { instances: 4, stop: true, pre: true, post: true, faults: new Map(), input: {} };
  let defaultFault = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n\n${USAGE}`);
      return v;
    };
    switch (arg) {
      case '--instances': options.instances = Number(value()); break;
      case '--stop': options.stop = true; break;
      case '--no-stop': options.stop = false; break;
      case '--no-pre': options.pre = false; break;
      case '--no-post': options.post = false; break;
      case '--no-fault': defaultFault = false; break;
      case '--input': options.input = JSON.parse(value()); break;
      case '--fault': {
        const match = /^(\d+):(\w+=\w+)$/.exec(value());
        if (!match) throw new Error(`--fault takes N:STEP=VALUE, for example 3:pre=Failed\n\n${USAGE}`);
        const n = Number(match[1]);
        options.faults.set(n, [...(options.faults.get(n) ?? []), match[2]]);
        defaultFault = false;
        break;
      }
      case '--help': case '-h': console.log(USAGE); process.exit(0);
      default: throw new Error(`unknown option ${arg}\n\n${USAGE}`);
    }
  }
  if (!Number.isInteger(options.instances) || options.instances < 1 || options.instances > 1000) {
    throw new Error('--instances takes a whole number from 1 to 1000');
  }
  if (defaultFault && options.instances >= 3) {
    options.faults.set(3, ['pre=Failed']);
  }
  return options;
}

function instanceId(n: number): string {
  return `i-${n.toString(16).padStart(17, '0')}`;
}

function instanceSpec(n: number, faults: string[]): InstanceSpec {
  const spec: { -readonly [K in keyof InstanceSpec]: InstanceSpec[K] } = { id: instanceId(n), tags: { [TAG_KEY]: 'true', Name: `db-${n}` } };
  const f: { -readonly [K in keyof InstanceFaults]: InstanceFaults[K] } = {};
  for (const fault of faults) {
    const [step, v] = fault.split('=');
    switch (step) {
      case 'pre': f.pre = v === 'Failed'
        ? { status: 'Failed', responseCode: 1, stderr: 'fsfreeze: /data: Device or resource busy' }
        : v as InstanceFaults['pre'];
        break;
      case 'post': f.post = v as InstanceFaults['post']; break;
      case 'backup': f.backup = v as InstanceFaults['backup']; break;
      case 'agent': spec.agent = v === 'unmanaged' ? 'absent' : 'ConnectionLost'; break;
      case 'stop': f.stopError = { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' }; break;
      case 'start': f.startNeverCompletes = true; break;
      case 'windows': spec.platform = 'Windows'; break;
      case 'state': spec.state = v as InstanceSpec['state']; break;
      default: throw new Error(`unknown fault step '${step}'\n\n${USAGE}`);
    }
  }
  spec.faults = f;
  return spec;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'pre-post-script-backup-'));
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new ExampleBackupStack(app, 'PrePostScriptBackupExample', {
    runPreScript: options.pre,
    runPostScript: options.post,
    stopInstances: options.stop,
  }, { env: { account: '123456789012', region: 'us-east-1' } });
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string }> };

  const counts = new Map<string, number>();
  for (const resource of Object.values(template.Resources)) {
    counts.set(resource.Type, (counts.get(resource.Type) ?? 0) + 1);
  }
  console.log(`Synthesized ${stack.stackName} (${Object.keys(template.Resources).length} resources) into ${outdir}`);
  for (const [type, count] of [...counts.entries()].sort()) {
    console.log(`  ${String(count).padStart(3)}  ${type}`);
  }

  const sim = await Simulator.start({ template, assetDir: outdir, env: { LOG_LEVEL: 'silent' } });
  try {
    const specs = Array.from({ length: options.instances }, (_, i) => instanceSpec(i + 1, options.faults.get(i + 1) ?? []));
    sim.world.addInstances(specs);
    console.log(`\nDry run: ${options.instances} instance(s) tagged ${TAG_KEY}=true; ` +
      `pre-backup script ${options.pre ? 'on' : 'off'}, stop ${options.stop ? 'on' : 'off'}, post-backup script ${options.post ? 'on' : 'off'}`);
    for (const [n, faults] of [...options.faults.entries()].sort(([a], [b]) => a - b)) {
      console.log(`  fault: ${instanceId(n)} ${faults.join(', ')}`);
    }
    console.log(`  input: ${JSON.stringify(options.input)}`);

    const result = await sim.run(options.input, { executionName: 'example-run' });
    const record = await sim.getAuditItem(result.executionArn) as Record<string, any> | undefined;

    console.log('\nPer instance: the calls the simulated AWS saw, then each step\'s status in the audit record');
    const entries = new Map<string, Record<string, string>>(
      ((record?.Workflow_Overall_Status ?? []) as Record<string, string>[]).map(e => [e.InstanceId, e]));
    for (const spec of specs) {
      const calls = sim.world.calls
        .filter(c => c.instanceIds.includes(spec.id) && MUTATING.has(c.action))
        .map(c => c.action === 'SendCommand' ? `${String((c.params as { Comment?: string }).Comment ?? '').split(':').pop()}-script` : STEP_NAMES[c.action]);
      const entry = entries.get(spec.id);
      console.log(`\n${spec.id}  ${entry?.Outcome ?? 'not in the audit record'}  (final state: ${sim.world.instanceStates()[spec.id]})`);
      console.log(`  path:   ${calls.length > 0 ? calls.join(' -> ') : 'nothing touched'}`);
      if (entry) {
        console.log(`  steps:  pre ${entry.PreBackupScriptStatus} | stop ${entry.StopEc2InstanceStatus} | backup ${entry.BackupJobStatus}` +
          ` | start ${entry.StartEc2InstanceStatus} | post ${entry.PostBackupScriptStatus}`);
        if (entry.FailureMessage) console.log(`  why:    ${entry.FailureMessage}`);
      }
    }

    console.log(`\nExecution ${result.status}${result.error ? ` (${result.error}: ${result.cause})` : ''}`);
    console.log(`\nAudit record, as stored in DynamoDB (SM_Execution_ID = ${result.executionArn}):`);
    console.log(JSON.stringify(record, null, 2));
    const s = result.stats;
    const lambda = Object.values(s.lambdaInvocations).reduce((a, b) => a + b, 0);
    const api = Object.values(s.apiCalls).reduce((a, b) => a + b, 0);
    console.log(`\n${s.stateTransitions} state transitions, ${lambda} Lambda invocations, ${api} AWS API calls, ` +
      `largest state ${s.largestStatePayloadBytes} bytes, virtual duration ${Math.round(s.virtualSeconds / 60)} min`);
  } finally {
    await sim.stop();
  }
}

const STEP_NAMES: Record<string, string> = {
  StopInstances: 'stop',
  StartBackupJob: 'backup-job',
  StartInstances: 'start',
};
const MUTATING = new Set(['SendCommand', ...Object.keys(STEP_NAMES)]);

main().catch(err => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
