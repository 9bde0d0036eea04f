/**
 * The waits of the synthesized workflow: with the default context each long wait is ONE `.waitForTaskToken` Task
 * (resumed by the resource's state-change event, timed out into a fallback look); with the context
 * `cdk-pre-post-script-backup:waits` = `polling` the Wait → check → Choice loops are back.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import { BackupScript, PrePostScriptBackup, PrePostScriptBackupProps } from '../../src';
import { FALLBACK_SECONDS, type WaitKind } from '../../src/contract/waits';
import { FIXED_POLL_CONTEXT_KEY, WAITS_CONTEXT_KEY } from '../../src/workflow/waiting-task';
import { allStates, AslState, definitionOf } from '../helpers/definition';
import { fixture, fullProps } from '../helpers/stacks';

const WAIT_FOR_TOKEN = /:states:::lambda:invoke\.waitForTaskToken$/;

/** A consumer stack with copies to another vault, under `context`. */
function synth(context: Record<string, unknown> = {}, props: PrePostScriptBackupProps = {}): Template {
  const app = new App({ context });
  const stack = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'eu-west-1' } });
  const dr = backup.BackupVault.fromBackupVaultArn(stack, 'Dr', 'arn:aws:backup:us-west-2:123456789012:backup-vault:dr');
  new PrePostScriptBackup(stack, 'AppBackup', fullProps({ copyToVault: dr, ...props }));
  return Template.fromStack(stack);
}

/** Which kind of wait a step's result path is. */
const KIND_OF_STEP: Record<string, WaitKind> = {
  '$.steps.pre': 'script',
  '$.steps.post': 'script',
  '$.steps.stop': 'stop',
  '$.steps.start': 'start',
  '$.steps.backup': 'backup',
  '$.steps.copy': 'copy',
};

const tokenTasks = (states: [string, AslState][]) =>
  states.filter(([, s]) => s.Type === 'Task' && WAIT_FOR_TOKEN.test(String(s.Resource)));

describe('waits on events (the default)', () => {
  // Defaults: scripts of 600 s (bound 900 s), stop/start 900 s, backup 1 h + 8 h + 900 s.
  const bounds: Record<WaitKind, number> = { script: 900, stop: 900, start: 900, backup: 33_300, copy: 33_300 };
  const template = synth();
  const states = allStates(definitionOf(template));
  const waiting = tokenTasks(states);

  test('each long wait is one waitForTaskToken Task: both scripts, stop, start, backup and copy (and the recovery\'s start and post-script)', () => {
    // The recovery of a chain that died (src/workflow/recovery.ts) reuses the chain's start and post-script steps.
    // Issue 15: and the post-script run before the stop after a failed pre-script (crash-consistent policy).
    // Issue 14: the start and post-script of the paths that fail before the job, and of the release after it.
    expect(waiting.map(([, s]) => s.ResultPath).sort())
      .toEqual([...Object.keys(KIND_OF_STEP), '$.steps.start', '$.steps.start', '$.steps.post', '$.steps.post', '$.steps.post'].sort());
  });

  test('TimeoutSeconds is the kind\'s fallback interval', () => {
    for (const [name, task] of waiting) {
      const kind = KIND_OF_STEP[task.ResultPath as string];
      expect({ name, timeout: task.TimeoutSeconds }).toEqual({ name, timeout: FALLBACK_SECONDS[kind] });
    }
  });

  test('the FIRST Retry is States.Timeout alone, immediate, with attempts covering the bound', () => {
    for (const [name, task] of waiting) {
      const kind = KIND_OF_STEP[task.ResultPath as string];
      const [first, ...rest] = task.Retry as Array<{ ErrorEquals: string[]; MaxAttempts: number; IntervalSeconds?: number; BackoffRate?: number }>;
      expect({ name, errors: first.ErrorEquals }).toEqual({ name, errors: ['States.Timeout'] });
      expect(first.MaxAttempts * FALLBACK_SECONDS[kind]).toBeGreaterThanOrEqual(bounds[kind]);
      expect(first.MaxAttempts).toBeGreaterThanOrEqual(Math.ceil(bounds[kind] / FALLBACK_SECONDS[kind]));
      expect(first.IntervalSeconds).toBe(1);
      expect(first.BackoffRate ?? 2).toBe(1);
      // Transient errors retried after it; no later Retry swallows the timeout.
      expect(rest.length).toBeGreaterThan(0);
      expect(rest[0].ErrorEquals).toEqual(expect.arrayContaining(['TransientError', 'Lambda.TooManyRequestsException']));
      for (const r of rest) expect(r.ErrorEquals).not.toContain('States.Timeout');
    }
  });

  test('a caught error goes to the step\'s failure path', () => {
    for (const [name, task] of waiting) {
      const catchAll = (task.Catch ?? []).find(c => c.ErrorEquals.includes('States.ALL')) as { ResultPath?: string } | undefined;
      const key = (task.ResultPath as string).replace('$.steps.', '');
      expect({ name, path: catchAll?.ResultPath }).toEqual({ name, path: `$.steps.errors.${key}` });
    }
  });

  test('the payload carries the task token and the instance id (and the run, for registration)', () => {
    for (const [name, task] of waiting) {
      const payload = (task.Parameters as { Payload: Record<string, unknown> }).Payload;
      expect({ name, token: payload['taskToken.$'], instance: payload['instanceId.$'], execution: payload['execution.$'] })
        .toEqual({ name, token: '$$.Task.Token', instance: '$.instance.instanceId', execution: '$.execution' });
      expect((task.Parameters as { FunctionName: unknown }).FunctionName).toBeDefined();
    }
  });

  test('the scripts call send-script, the power steps stop- and start-instance, the jobs start-backup- and start-copy-job', () => {
    const fn = (path: string) => String((waiting.find(([, s]) => s.ResultPath === path)![1].Parameters as { FunctionName: string }).FunctionName);
    expect(fn('$.steps.pre')).toMatch(/HandlersSendScript/);
    expect(fn('$.steps.post')).toMatch(/HandlersSendScript/);
    expect(fn('$.steps.stop')).toMatch(/HandlersStopInstance/);
    expect(fn('$.steps.start')).toMatch(/HandlersStartInstance/);
    expect(fn('$.steps.backup')).toMatch(/HandlersStartBackupJob/);
    expect(fn('$.steps.copy')).toMatch(/HandlersStartCopyJob/);
  });

  test('no Wait state except the SSM agent checks (and issue 15\'s pauses between script attempts, issue 14\'s release loop, the pause after a start); no polling function exists', () => {
    // The release loop's Wait is its look interval, bounded by the freeze budget (test/workflow/release-loop.test.ts).
    const release = states.filter(([name, s]) => s.Type === 'Wait' && name === 'Release: wait');
    expect(release.map(([, s]) => s.SecondsPath)).toEqual(['$.steps.release.lookSeconds']);
    // The entry spread's Wait (fleet scale) waits a random draw, once, before the lease.
    expect(states.filter(([name]) => name === 'Instance: wait for its turn').map(([, s]) => s.SecondsPath)).toEqual(['$.entry.seconds']);
    // After a start it made, the chain lets the SSM agent reconnect before its first look, once (the fixed pause).
    expect(states.filter(([name]) => name.endsWith('Start instance: let the SSM agent reconnect')).map(([, s]) => s.Seconds)).toEqual([20, 20]);
    const waits = states.filter(([name, s]) => s.Type === 'Wait' && !name.endsWith(': pause before the next attempt') && name !== 'Release: wait'
      && name !== 'Instance: wait for its turn' && !name.endsWith('Start instance: let the SSM agent reconnect'));
    expect(waits.length).toBeGreaterThan(0);
    for (const [name, wait] of waits) {
      expect({ name, path: wait.SecondsPath }).toEqual({ name, path: expect.stringMatching(/^\$\.steps\.(agent|agentAfterStart|preflight)\.poll\.nextWaitSeconds$/) });
    }
    const descriptions = Object.values(template.findResources('AWS::Lambda::Function')).map(f => String(f.Properties.Description));
    for (const polling of ['GetScriptStatus', 'DescribeBackupJob', 'DescribeCopyJob']) {
      expect(descriptions.filter(d => d.endsWith(`: ${polling}`))).toEqual([]);
    }
    expect(descriptions.filter(d => d.endsWith(': ResumeWait'))).toHaveLength(1);
  });

  test('a longer script timeout and longer backup windows give more fallback retries', () => {
    const long = synth({}, {
      preScript: BackupScript.fromAsset(fixture('freeze.sh'), { timeout: Duration.hours(2) }),
      backupStartWindow: Duration.hours(2),
      backupCompletionWindow: Duration.hours(24),
    });
    const tasks = tokenTasks(allStates(definitionOf(long)));
    const attempts = (path: string) => (tasks.find(([, s]) => s.ResultPath === path)![1].Retry![0]).MaxAttempts!;
    // The bound is the longest script's timeout + 300 s, for both phases (the input may only shorten a timeout).
    for (const phase of ['$.steps.pre', '$.steps.post']) {
      expect(attempts(phase) * FALLBACK_SECONDS.script).toBeGreaterThanOrEqual(2 * 3600 + 300);
    }
    const jobBound = (2 + 24) * 3600 + 900;
    expect(attempts('$.steps.backup') * FALLBACK_SECONDS.backup).toBeGreaterThanOrEqual(jobBound);
    expect(attempts('$.steps.copy') * FALLBACK_SECONDS.copy).toBeGreaterThanOrEqual(jobBound);
    expect(attempts('$.steps.backup')).toBeGreaterThan((waiting.find(([, s]) => s.ResultPath === '$.steps.backup')![1].Retry![0]).MaxAttempts!);
  });

  test('`events` in the context is the same as no context', () => {
    const explicit = tokenTasks(allStates(definitionOf(synth({ [WAITS_CONTEXT_KEY]: 'events' }))));
    expect(explicit.map(([n]) => n).sort()).toEqual(waiting.map(([n]) => n).sort());
  });
});

describe('waits polled (context `polling`)', () => {
  const template = synth({ [WAITS_CONTEXT_KEY]: 'polling' });
  const states = allStates(definitionOf(template));

  test('no waitForTaskToken Task', () => {
    expect(tokenTasks(states)).toEqual([]);
    expect(JSON.stringify(states)).not.toContain('$$.Task.Token');
  });

  test('every long wait is a Wait state again, and the describe functions exist', () => {
    const paths = states.filter(([, s]) => s.Type === 'Wait').map(([, s]) => s.SecondsPath);
    for (const key of ['pre', 'post', 'stop', 'start', 'backup', 'copy', 'agent', 'agentAfterStart']) {
      expect(paths).toContain(`$.steps.${key}.poll.nextWaitSeconds`);
    }
    const descriptions = Object.values(template.findResources('AWS::Lambda::Function')).map(f => String(f.Properties.Description));
    for (const polling of ['GetScriptStatus', 'DescribeBackupJob', 'DescribeCopyJob']) {
      expect(descriptions.filter(d => d.endsWith(`: ${polling}`))).toHaveLength(1);
    }
    expect(descriptions.filter(d => d.endsWith(': ResumeWait'))).toEqual([]);
  });

  test('no Task times out into a fallback look: no Task has a States.Timeout-only first Retry', () => {
    for (const [name, s] of states.filter(([, st]) => st.Type === 'Task')) {
      expect({ name, first: s.Retry?.[0]?.ErrorEquals }).not.toEqual({ name, first: ['States.Timeout'] });
    }
  });
});

describe('the context values', () => {
  test.each(['event', 'Polling', 'poll', true, 1, ''])('an invalid waits value %p throws a helpful error', (value) => {
    let message = '';
    try {
      synth({ [WAITS_CONTEXT_KEY]: value });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(WAITS_CONTEXT_KEY);
    expect(message).toContain("must be 'events' or 'polling'");
    expect(message).toContain(`got ${JSON.stringify(value)}`);
  });

  test('fixed poll seconds (object or JSON string) reach every function as FIXED_POLL_SECONDS; absent, none has it', () => {
    const envs = (t: Template) => Object.values(t.findResources('AWS::Lambda::Function'))
      .filter(f => String(f.Properties.Description).startsWith('pre/post-script backup:'))
      .map(f => f.Properties.Environment?.Variables?.FIXED_POLL_SECONDS);
    const asObject = envs(synth({ [WAITS_CONTEXT_KEY]: 'polling', [FIXED_POLL_CONTEXT_KEY]: { script: 1, backup: 10, power: 1, agent: 1 } }));
    expect(asObject.length).toBeGreaterThan(10);
    for (const v of asObject) expect(JSON.parse(v)).toEqual({ script: 1, backup: 10, power: 1, agent: 1 });
    const asString = envs(synth({ [WAITS_CONTEXT_KEY]: 'polling', [FIXED_POLL_CONTEXT_KEY]: '{"script":1}' }));
    for (const v of asString) expect(v).toBe('{"script":1}');
    for (const v of envs(synth())) expect(v).toBeUndefined();
  });
});
