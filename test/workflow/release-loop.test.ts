import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { JOB_END_LOOK_SECONDS, type ObserveReleaseEvent, type ObserveReleaseResult, type ReleasePointState } from '../../src/contract/messages';
import { type ReleaseRun } from '../../src/contract/settings';
import { nextLoopState } from '../../src/lambda-shared/release-point';
import { releaseLoop } from '../../src/workflow/release';
import { EXECUTION } from '../helpers/handler-fixtures';
import { resolveStateMachine } from '../simulator/asl';

// aws-local-stepfunctions is an ES module with a CommonJS build; its types only resolve as ESM (as in test/simulator/simulator.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' } });

/**
 * The release loop alone (src/workflow/release.ts), run by the ASL interpreter with a scripted observe-release: each
 * scripted look is advanced into the loop's next state as the handler does (nextLoopState).
 */
function definition() {
  const app = new App();
  const stack = new Stack(app, 'ReleaseLoop');
  const fn = new lambda.Function(stack, 'ObserveRelease', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  const released = new sfn.Succeed(stack, 'Released');
  new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(releaseLoop(stack, { fn, next: released })),
  });
  return resolveStateMachine(app.synth().getStackByName('ReleaseLoop').template).definition;
}
const DEFINITION = definition();

const JOB = 'job-1';
function look(state: ReleasePointState, extra: Partial<ObserveReleaseResult> = {}): ObserveReleaseResult {
  return {
    state,
    reason: `${state} because`,
    backupJobId: JOB,
    volumeIds: ['vol-1'],
    jobState: 'RUNNING',
    recoveryPointArn: '',
    snapshotIds: [],
    capturedAt: '',
    observedAt: '2026-12-03T02:00:00.000Z',
    ...extra,
  };
}

interface Outcome {
  readonly output: any;
  readonly events: ObserveReleaseEvent[];
}

async function run(answers: Array<ObserveReleaseResult | Error>, release: Partial<ReleaseRun> = {}): Promise<Outcome> {
  const config = { release: { mode: 'point-in-time', lookSeconds: 10, budgetSeconds: 600, onBudgetSpent: 'release', ...release } };
  const events: ObserveReleaseEvent[] = [];
  let i = 0;
  const machine = new StateMachine(DEFINITION as any, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run({ instance: { instanceId: 'i-1' }, execution: EXECUTION, config, steps: { errors: {} } } as any, {
    overrides: {
      taskResourceLocalHandlers: {
        'Release: look': async (event: any) => {
          events.push(event);
          const answer = answers[Math.min(i++, answers.length - 1)];
          if (answer instanceof Error) throw answer;
          return nextLoopState(event.loop, answer, JOB_END_LOOK_SECONDS);
        },
      } as any,
      waitTimeOverrides: { 'Release: wait': 0 },
      retryIntervalOverrides: { 'Release: look': 0 },
    },
  });
  const output = await execution.result;
  return { output, events };
}

describe('release loop', () => {
  test('captured after two looks: released with the reason; the job id and volumes carried from look to look', async () => {
    const r = await run([look('not-yet', { backupJobId: '', volumeIds: [] }), look('not-yet'), look('captured', { capturedAt: '2026-12-03T02:00:05.000Z' })]);
    expect(r.output.steps.release).toMatchObject({
      state: 'captured', releaseReason: 'point-in-time-captured', looks: 3, waitedSeconds: 30, capturedAt: '2026-12-03T02:00:05.000Z', fallbackReason: '',
    });
    expect(r.events.map(e => e.loop!.backupJobId)).toEqual(['', '', JOB]);
    expect(r.events[0]).toMatchObject({ instanceId: 'i-1', execution: EXECUTION, loop: { mode: 'point-in-time', volumeIds: [], looks: 0 } });
    expect(r.events[2].loop!.volumeIds).toEqual(['vol-1']);
  });

  test('job ended first: released, reason job-ended', async () => {
    const r = await run([look('not-yet'), look('job-ended', { jobState: 'COMPLETED' })]);
    expect(r.output.steps.release).toMatchObject({ releaseReason: 'job-ended', jobState: 'COMPLETED', looks: 2 });
  });

  test('unobservable: from then on only the job\'s end, every 60 s, the reason kept', async () => {
    const r = await run([look('unobservable', { reason: 'the recovery point is not an AMI (arn:...)' }), look('not-yet'), look('job-ended', { jobState: 'COMPLETED' })], { budgetSeconds: 3600 });
    expect(r.events.map(e => e.loop!.mode)).toEqual(['point-in-time', 'job-end', 'job-end']);
    expect(r.output.steps.release).toMatchObject({
      releaseReason: 'job-ended',
      mode: 'job-end',
      lookSeconds: JOB_END_LOOK_SECONDS,
      fallbackReason: 'the recovery point is not an AMI (arn:...)',
      waitedSeconds: 10 + 2 * JOB_END_LOOK_SECONDS,
    });
  });

  test('budget spent: released after budget / lookSeconds looks at most', async () => {
    const r = await run([look('not-yet')], { budgetSeconds: 50 });
    expect(r.output.steps.release).toMatchObject({ releaseReason: 'budget-spent', looks: 5, waitedSeconds: 50 });
    expect(r.events).toHaveLength(5);
  });

  test('the job-end mode from the configuration (release at job completion)', async () => {
    const r = await run([look('not-yet'), look('job-ended', { jobState: 'COMPLETED' })], { mode: 'job-end', lookSeconds: 60 });
    expect(r.events.map(e => e.loop!.mode)).toEqual(['job-end', 'job-end']);
    expect(r.output.steps.release.releaseReason).toBe('job-ended');
  });

  test('a look that keeps failing releases the application (look-failed, the error kept)', async () => {
    const fail = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    const r = await run([fail]);
    expect(r.output.steps.release.releaseReason).toBe('look-failed');
    expect(r.output.steps.errors.release).toMatchObject({ Error: 'AccessDeniedException' });
  });

  test('three transitions a look: Wait, the look, one Choice', () => {
    const loopStates = Object.keys((DEFINITION as any).States).filter((n) => n.startsWith('Release: ') && !/captured|job ended|budget spent|look failed|begin/.test(n));
    expect(loopStates.sort()).toEqual(['Release: look', 'Release: release now?', 'Release: wait']);
  });

  test('a transient failure is retried, then the loop goes on', async () => {
    const transient = Object.assign(new Error('slow down'), { name: 'TransientError' });
    const r = await run([transient, look('captured')]);
    expect(r.events).toHaveLength(2);
    expect(r.output.steps.release).toMatchObject({ releaseReason: 'point-in-time-captured', looks: 1 });
  });
});
