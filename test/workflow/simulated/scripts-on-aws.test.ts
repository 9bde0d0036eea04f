import { assertInvariants, callsAbout, commandPhase, entryOf, Harness, newInstanceIds, startingState, TaskHook } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';

/**
 * Scripts as SSM runs them on AWS (docs/fidelity/ssm.md): AWS-RunRemoteScript has two steps on each platform
 * (downloadContent, then runShellScript or runPowerShellScript), so GetCommandInvocation without a step name fails;
 * the listing of invocations lags SendCommand; SendCommand has no idempotency token and its answer can be lost after the
 * command exists. Each script must still be sent once per phase and instance, and its audit must say what happened.
 */

/** SSM creates the command, then its answer is lost (a 500): only the first SendCommand of the phase on the instance. */
const answerLostAtSsm = (instanceId: string): TaskHook => {
  let armed = false;
  return {
    before: (input, world) => {
      if (input.instanceId === instanceId && !armed) {
        armed = true;
        world.loseAnswer({ service: 'ssm', action: 'SendCommand', instanceId, times: 1 });
      }
    },
  };
};

describe('scripts on AWS', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: fullProps(), intercept: [startingState('pre'), startingState('post')] });
  });
  afterAll(async () => h?.stop());

  test('every script step reads its status the way AWS allows on a two-step document: never GetCommandInvocation without a step', async () => {
    const ids = newInstanceIds(2);
    const run = await h.run({ instances: ids.map((id) => ({ id })), input: { StartStopEC2Required: true } });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    // The stand-in refuses GetCommandInvocation without PluginName on AWS-RunRemoteScript (InvalidPluginName).
    expect(run.calls.filter((c) => c.service === 'ssm' && c.error === 'InvalidPluginName')).toEqual([]);
    for (const id of ids) {
      expect(entryOf(run, id)).toMatchObject({ PreBackupScriptStatus: 'Success', PostBackupScriptStatus: 'Success', Outcome: 'SUCCEEDED' });
      expect(run.world.commandsFor(id).map((c) => c.phase)).toEqual(['pre', 'post']);
    }
  });

  test.each(['pre', 'post'] as const)('SendCommand (%s) created the command at SSM and its answer was lost: one command, recovered, truthful audit', async (phase) => {
    const [a, faulty] = newInstanceIds(2);
    const run = await h.run({
      instances: [{ id: a }, { id: faulty }],
      hooks: { [startingState(phase)]: answerLostAtSsm(faulty) },
      healthy: [a, faulty],
    });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    const sends = callsAbout(run, faulty, 'ssm:SendCommand').filter((x) => commandPhase(x) === phase);
    expect(sends.map((x) => x.error ?? 'ok')).toEqual(['InternalServerError']); // sent once; the retry only looked
    const commands = run.world.commandsFor(faulty);
    expect(commands.map((c) => c.phase)).toEqual(['pre', 'post']);
    const entry = entryOf(run, faulty)!;
    const field = phase === 'pre' ? 'PreBackupScriptCommandId' : 'PostBackupScriptCommandId';
    expect(entry[field]).toBe(commands.find((c) => c.phase === phase)!.commandId);
    expect(entry).toMatchObject({ PreBackupScriptStatus: 'Success', PostBackupScriptStatus: 'Success', Outcome: 'SUCCEEDED' });
  });

  test('the lost command is never listed within the bounded looks: nothing sent again, pre-script Failed saying its fate is unknown, post-script still run', async () => {
    const [faulty] = newInstanceIds(1);
    const run = await h.run({
      instances: [{ id: faulty, faults: { pre: { status: 'Success', listLagCalls: 10_000 } } }],
      hooks: { [startingState('pre')]: answerLostAtSsm(faulty) },
      healthy: [],
    });
    assertInvariants(run);
    expect(run.result.status).toBe('FAILED');
    expect(callsAbout(run, faulty, 'ssm:SendCommand').filter((x) => commandPhase(x) === 'pre')).toHaveLength(1);
    expect(run.world.commandsFor(faulty).map((c) => c.phase)).toEqual(['pre', 'post']);
    expect(run.world.backupJobsFor(faulty)).toEqual([]);
    const entry = entryOf(run, faulty)!;
    expect(entry).toMatchObject({ PreBackupScriptStatus: 'Failed', PostBackupScriptStatus: 'Success', Outcome: 'FAILED' });
    expect(entry.FailureMessage).toContain('CommandFateUnknown');
    expect(entry.FailureMessage).toContain('fate is unknown');
  }, 120_000);

  test('a script that cannot be downloaded: the audit names the download step, and the post-script still runs', async () => {
    const [faulty] = newInstanceIds(1);
    const run = await h.run({
      instances: [{ id: faulty, faults: { pre: { status: 'Success', downloadError: 'AccessDenied: GetObject on the script object' } } }],
      healthy: [],
    });
    assertInvariants(run);
    const entry = entryOf(run, faulty)!;
    expect(entry).toMatchObject({ PreBackupScriptStatus: 'Failed', PostBackupScriptStatus: 'Success', Outcome: 'FAILED' });
    expect(entry.FailureMessage).toContain('step downloadContent Failed');
    expect(entry.FailureMessage).toContain('AccessDenied: GetObject on the script object');
    expect(run.world.backupJobsFor(faulty)).toEqual([]);
  });
});
