import { BackupScript, ScriptPlatform } from '../../../src';
import { assertInvariants, callsAbout, commandPhase, entryOf, Harness, newInstanceIds } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { dlmStyleDocument, registerDocument } from '../../simulator/fakes/ssm-documents';
import { ACCOUNT_ID } from '../../simulator/world';

/**
 * Scripts as Command documents (BackupScript.fromSsmDocument) in Data Lifecycle Manager's convention: one document for
 * both stages, `command` = pre-script / post-script and `executionId` a UUID naming the run and the instance; the full
 * output to the construct's log group (CloudWatchOutputConfig); the end of a failed script's output in the audit entry.
 * docs/fidelity/ssm.md says what the stand-in does and why.
 */
const DOCUMENT = 'AppTeam-DlmFreezeThaw';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function sends(run: Parameters<typeof callsAbout>[0], id: string) {
  return callsAbout(run, id, 'ssm:SendCommand').filter((c) => !c.error).map((c) => ({ phase: commandPhase(c), params: c.params as any }));
}

describe('a DLM-style document as the pre- and post-script', () => {
  let h: Harness;
  beforeAll(async () => {
    const script = BackupScript.fromSsmDocument(DOCUMENT, { parameters: { mountPoints: ['/data'] } });
    h = await Harness.start({ props: fullProps({ preScript: script, postScript: script }) });
    registerDocument(h.sim.world, dlmStyleDocument(DOCUMENT, ACCOUNT_ID, { mountPoints: { type: 'StringList' } }));
  });
  afterAll(async () => h?.stop());

  test('runs at both stages with command = pre-script then post-script, one executionId, the user\'s parameters and the output log group', async () => {
    const ids = newInstanceIds(2);
    const run = await h.run({ instances: ids.map((id) => ({ id })), input: { StartStopEC2Required: false } });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    const logGroup = h.settings.outputLogGroupName;
    expect(logGroup).toMatch(/.+/);
    const executionIds = new Set<string>();
    for (const id of ids) {
      // What the stand-in recorded of each invocation: the document and the parameters as sent.
      const commands = run.world.commandsFor(id);
      expect(commands.map((c) => [c.phase, c.documentName, c.parameters.command])).toEqual([
        ['pre', DOCUMENT, ['pre-script']],
        ['post', DOCUMENT, ['post-script']],
      ]);
      for (const c of commands) {
        expect(c.parameters.mountPoints).toEqual(['/data']);
        expect(c.parameters.executionId[0]).toMatch(UUID);
        expect(c.parameters).not.toHaveProperty('sourceType');
        expect(c.cloudWatchOutputConfig).toEqual({ CloudWatchOutputEnabled: true, CloudWatchLogGroupName: logGroup });
      }
      // The same executionId at both stages of the instance; another for each instance.
      expect(commands[0].parameters.executionId).toEqual(commands[1].parameters.executionId);
      executionIds.add(commands[0].parameters.executionId[0]);
      expect(sends(run, id).map((s) => s.phase)).toEqual(['pre', 'post']);
      expect(entryOf(run, id)).toMatchObject({
        PreBackupScriptStatus: 'Success', PostBackupScriptStatus: 'Success', Outcome: 'SUCCEEDED', PreBackupScriptOutput: '', PostBackupScriptOutput: '',
      });
    }
    expect(executionIds.size).toBe(ids.length);
  });

  test('a dry run sends the document once per instance with command = dry-run (the real run\'s parameters and executionId), nothing else', async () => {
    const ids = newInstanceIds(2);
    const run = await h.run({ instances: ids.map((id) => ({ id })), input: { DryRun: true, StartStopEC2Required: false } });
    // (The harness's invariants are a real run's: a dry run's are asserted here and in dry-run.test.ts.)
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.calls.filter((c) => ['StopInstances', 'StartInstances', 'StartBackupJob'].includes(c.action))).toEqual([]);
    for (const id of ids) {
      const commands = run.world.commandsFor(id);
      expect(commands.map((c) => [c.phase, c.documentName, c.parameters.command])).toEqual([['dry-run-pre', DOCUMENT, ['dry-run']]]);
      expect(commands[0].parameters.mountPoints).toEqual(['/data']);
      expect(commands[0].parameters.executionId[0]).toMatch(UUID);
      expect(callsAbout(run, id, 'backup:StartBackupJob')).toHaveLength(0);
      expect(entryOf(run, id)).toMatchObject({ PreflightVerdict: 'ready', PreBackupScriptStatus: 'skipped', Outcome: 'SUCCEEDED' });
    }
  });

  test('a failed pre-script: its output (stdout, the agent\'s ERROR title, stderr) ends up in the audit entry, and the post-script still runs', async () => {
    const [id] = newInstanceIds(1);
    const stderr = 'fsfreeze: /data: freeze failed: Device or resource busy';
    const run = await h.run({
      instances: [{ id, faults: { pre: { status: 'Failed', responseCode: 204, stdout: 'INFO: pre-script starting', stderr } } }],
      input: { StartStopEC2Required: false },
      healthy: [],
    });
    assertInvariants(run);
    const entry = entryOf(run, id)!;
    expect(entry).toMatchObject({ PreBackupScriptStatus: 'Failed', PostBackupScriptStatus: 'Success', Outcome: 'FAILED' });
    expect(entry.PreBackupScriptOutput).toBe(`INFO: pre-script starting\n----------ERROR-------\n${stderr}`);
    expect(entry.PostBackupScriptOutput).toBe('');
    expect(run.world.commandsFor(id).map((c) => c.parameters.command[0])).toEqual(['pre-script', 'post-script']);
  });

  test('a failed script with long output: the audit keeps at most 2,000 characters, the end of what SSM returns', async () => {
    const [id] = newInstanceIds(1);
    const stderr = Array.from({ length: 400 }, (_, i) => `error line ${i}`).join('\n');
    const run = await h.run({
      instances: [{ id, faults: { post: { status: 'Failed', responseCode: 202, stdout: 'x'.repeat(3000), stderr } } }],
      input: { StartStopEC2Required: false },
      healthy: [],
    });
    assertInvariants(run);
    const output: string = entryOf(run, id)!.PostBackupScriptOutput;
    expect(output.length).toBe(2000);
    // The agent keeps the start of stdout and of stderr (2,500 characters in all) and marks both cut.
    expect(output.endsWith('\n---Error truncated----')).toBe(true);
    expect(output).toContain('----------ERROR-------\nerror line 0\n');
  });
});

describe('a document whose only step is for another platform', () => {
  let h: Harness;
  beforeAll(async () => {
    // Configured for Windows, but its one step has the precondition platformType = Linux: the agent skips it.
    const script = BackupScript.fromSsmDocument(DOCUMENT, { platform: ScriptPlatform.WINDOWS });
    h = await Harness.start({ props: fullProps({ preScript: script, postScript: script }) });
    registerDocument(h.sim.world, dlmStyleDocument(DOCUMENT, ACCOUNT_ID));
  });
  afterAll(async () => h?.stop());

  test('SSM says Success with every step skipped: recorded as Failed (NoStepRan), never as a script that ran', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, platform: 'Windows' }], input: { StartStopEC2Required: false }, healthy: [] });
    assertInvariants(run);
    expect(run.world.commandsFor(id).map((c) => c.status)).toEqual(['Success', 'Success']);
    const entry = entryOf(run, id)!;
    expect(entry).toMatchObject({ PreBackupScriptStatus: 'Failed', Outcome: 'FAILED' });
    expect(entry.FailureMessage).toContain('NoStepRan');
    expect(entry.PreBackupScriptOutput).toContain('Step execution skipped due to unsatisfied preconditions');
    expect(run.world.backupJobsFor(id)).toEqual([]);
  });
});
