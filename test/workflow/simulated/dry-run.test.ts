import { entryOf, Harness, newInstanceIds, SimRun } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';

/**
 * Issue 15, a dry run (`DryRun: true`): every targeted instance is checked, nothing is frozen, stopped, started or backed
 * up, no lease is left, and the audit record says per instance whether it is ready for a real run and why not.
 * The stand-ins are the evidence: EC2 answers DryRun requests with DryRunOperation (HTTP 412) or UnauthorizedOperation
 * and changes nothing (docs/fidelity/ec2.md), SSM runs the probe's download as it would the script's.
 */
describe('dry run', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: fullProps({ stopInstances: true }) });
  });
  afterAll(async () => h?.stop());

  /** Every call a dry run may make that reaches EC2's or AWS Backup's mutating APIs, or SSM's SendCommand. */
  function actingCalls(run: SimRun) {
    return run.calls.filter((c) => ['ec2:StopInstances', 'ec2:StartInstances', 'backup:StartBackupJob', 'backup:StartCopyJob',
      'backup:StopBackupJob', 'ssm:SendCommand', 'ssm:CancelCommand'].includes(`${c.service}:${c.action}`));
  }

  /** Nothing was touched: only DryRun stop/start, only probe commands, no job; no lease, journal or waiting task left. */
  async function expectNothingTouched(run: SimRun, configuredCommandLines: string[]): Promise<void> {
    for (const call of actingCalls(run)) {
      const params = call.params as Record<string, any>;
      if (call.service === 'ec2') {
        expect({ action: call.action, dryRun: params.DryRun }).toEqual({ action: call.action, dryRun: 'true' });
        expect(call.error).toMatch(/^(DryRunOperation|UnauthorizedOperation)$/);
      } else if (call.action === 'SendCommand') {
        expect(String(params.Comment)).toMatch(/:dry-run-(pre|post)$/);
        for (const line of params.Parameters?.commandLine ?? []) {
          expect(configuredCommandLines).not.toContain(line);
          expect(line).toMatch(/^if test -f '[^']+' && test -r '[^']+'; then/);
        }
      } else {
        throw new Error(`a dry run called ${call.service}:${call.action}`);
      }
    }
    for (const inst of run.instances) {
      expect(run.world.instances.get(inst.id)!.stopCalls).toBe(0);
      expect(run.world.instances.get(inst.id)!.startCalls).toBe(0);
      expect(run.world.backupJobsFor(inst.id)).toEqual([]);
      for (const inv of run.world.commandsFor(inst.id)) {
        expect(inv.phase).toMatch(/^dry-run-(pre|post)$/);
      }
    }
    // This run's lease, journal or waiting-task items (other tests' real runs leave their own journals).
    const ids = run.instances.map((i) => i.id);
    const commandIds = ids.flatMap((id) => run.world.commandsFor(id).map((c) => c.commandId));
    const items = await h.sim.scanTable();
    const leftovers = items.map((i) => String(i.SM_Execution_ID)).filter((k) => (k.startsWith('LEASE#') && ids.includes(k.slice(6)))
      || (k.startsWith('JOURNAL#') && k.includes(`${run.result.executionArn}#`))
      || (k.startsWith('WAIT#') && commandIds.some((c) => k.endsWith(c))));
    expect(leftovers).toEqual([]);
  }

  test('a mixed fleet: each instance checked and reported, nothing touched, the run FAILED because some are not ready', async () => {
    const [ready, offline, windows, stopped, unreachable, forbidden] = newInstanceIds(6);
    const run = await h.run({
      instances: [
        { id: ready },
        { id: offline, agent: 'ConnectionLost' },
        { id: windows, platform: 'Windows' },
        { id: stopped, state: 'stopped' },
        {
          id: unreachable,
          faults: { pre: { status: 'Success', downloadError: 'An error occurred (403) when calling the HeadObject operation: Forbidden' } },
        },
        { id: forbidden, faults: { stopError: { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' } } },
      ],
      input: { DryRun: true },
      executionName: 'dry-run-mixed',
    });
    const settings = h.settings;
    await expectNothingTouched(run, [settings.preScript.commandLine, settings.postScript.commandLine]);

    expect(run.world.instanceStates()).toMatchObject({
      [ready]: 'running', [offline]: 'running', [windows]: 'running', [stopped]: 'stopped', [unreachable]: 'running', [forbidden]: 'running',
    });
    expect(run.result.status).toBe('FAILED');
    const record = run.auditItem!;
    expect(record.DryRun).toBe(true);
    expect(record.Run_Status).toBe('FAILED');
    expect(record.Run_FailureMessage).toMatch(/^4 of 6 instances not ready \(dry run\): /);
    expect(record.InstanceCount).toBe(6);

    for (const id of [ready, offline, windows, stopped, unreachable, forbidden]) {
      const entry = entryOf(run, id)!;
      expect(entry).toBeDefined();
      for (const field of ['PreBackupScriptStatus', 'StopEc2InstanceStatus', 'BackupJobStatus', 'StartEc2InstanceStatus', 'PostBackupScriptStatus']) {
        expect(entry[field]).toBe('skipped');
      }
      expect(entry.Notes).toMatch(/^dry run: only checked; nothing was frozen, stopped, started or backed up/);
    }
    const all = [ready, offline, windows, stopped, unreachable, forbidden];
    const verdicts = Object.fromEntries(all.map((id) => [id, entryOf(run, id)!.PreflightVerdict]));
    expect(verdicts).toEqual({
      [ready]: 'ready', [offline]: 'not-ready', [windows]: 'not-ready', [stopped]: 'ready', [unreachable]: 'not-ready', [forbidden]: 'not-ready',
    });
    expect(entryOf(run, ready)!).toMatchObject({ Outcome: 'SUCCEEDED', FailureMessage: '', PreflightChecks: '' });
    expect(entryOf(run, ready)!.Notes).toMatch(/passed: tag, state, agent, platform, stop-permission, vault, pre-script reachable, post-script reachable/);
    expect(entryOf(run, stopped)!).toMatchObject({ Outcome: 'SUCCEEDED', PreflightChecks: '' });
    expect(entryOf(run, stopped)!.Notes).toMatch(/passed: tag, state, vault$/);
    expect(entryOf(run, offline)!).toMatchObject({ Outcome: 'FAILED' });
    expect(entryOf(run, offline)!.PreflightChecks).toMatch(/^agent: SSM agent not online \(PingStatus ConnectionLost\)/);
    expect(entryOf(run, windows)!.PreflightChecks).toMatch(/^platform: the instance runs Windows, the pre-backup script is for Linux and the post-backup script is for Linux$/);
    expect(entryOf(run, unreachable)!.PreflightChecks)
      .toMatch(/^script: pre-backup script not reachable \(probe Failed [0-9a-f-]+\): step downloadContent Failed, exit code 1: .*HeadObject operation: Forbidden/);
    expect(entryOf(run, unreachable)!.PreflightChecks).not.toMatch(/post-backup script/);
    expect(entryOf(run, forbidden)!.PreflightChecks).toBe('stop-permission: StopInstances not permitted (UnauthorizedOperation)');
    expect(entryOf(run, offline)!.FailureMessage).toMatch(/^not ready for a real run: agent: /);

    // Probes went only where the scripts could run (agent online, platform right): one per script, never the script.
    const probed = (id: string) => run.world.commandsFor(id).map((i) => i.phase).sort();
    expect(probed(ready)).toEqual(['dry-run-post', 'dry-run-pre']);
    expect(probed(unreachable)).toEqual(['dry-run-post', 'dry-run-pre']);
    expect(probed(forbidden)).toEqual(['dry-run-post', 'dry-run-pre']);
    for (const id of [offline, windows, stopped]) expect(probed(id)).toEqual([]);
    // The stop permission was asked of EC2 for the running instances the run would stop, with DryRun.
    const dryRunStops = run.calls.filter((c) => c.action === 'StopInstances').map((c) => c.instanceIds[0]).sort();
    expect(dryRunStops).toEqual([ready, offline, windows, unreachable, forbidden].sort());
  });

  test('a fleet that is ready: the run SUCCEEDED, and a real run right after is not held back by the dry run', async () => {
    const [a, b] = newInstanceIds(2);
    const dry = await h.run({ instances: [{ id: a }, { id: b, state: 'stopped' }], input: { DryRun: true }, executionName: 'dry-run-ready' });
    expect(dry.result.status).toBe('SUCCEEDED');
    expect(dry.auditItem).toMatchObject({ DryRun: true, Run_Status: 'SUCCEEDED', Run_FailureMessage: '' });
    expect(entryOf(dry, a)!.PreflightVerdict).toBe('ready');
    expect(entryOf(dry, b)!.PreflightVerdict).toBe('ready');

    const real = await h.run({ instances: [], keepWorld: true, executionName: 'real-after-dry-run' });
    expect(real.result.status).toBe('SUCCEEDED');
    expect(real.auditItem!.DryRun).toBeUndefined();
    expect(entryOf(real, a)).toMatchObject({ Outcome: 'SUCCEEDED', BackupJobStatus: 'COMPLETED', PreBackupScriptStatus: 'Success' });
    expect(entryOf(real, a)!.PreflightVerdict).toBeUndefined();
    expect(real.world.commandsFor(a).map((i) => i.phase)).toEqual(['dry-run-pre', 'dry-run-post', 'pre', 'post']);
  });

  test('a dry-run chain that dies where no Catch sees it: recovered without acting, the instance not ready', async () => {
    const [a, b] = newInstanceIds(2);
    const run = await h.run({
      instances: [{ id: a }, { id: b }],
      input: { DryRun: true },
      kills: [{ stateName: 'Dry run: look at script probes', instanceId: a }],
      executionName: 'dry-run-chain-died',
    });
    await expectNothingTouched(run, [h.settings.preScript.commandLine, h.settings.postScript.commandLine]);
    expect(run.result.status).toBe('FAILED');
    expect(entryOf(run, a)).toMatchObject({ Outcome: 'FAILED', PreflightVerdict: 'not-ready', BackupJobStatus: 'skipped' });
    expect(entryOf(run, a)!.FailureMessage).toMatch(/chain died/);
    expect(entryOf(run, b)).toMatchObject({ Outcome: 'SUCCEEDED', PreflightVerdict: 'ready' });
    expect(run.world.instanceStates()).toMatchObject({ [a]: 'running', [b]: 'running' });
  });

  test('a vault that does not exist (AWS answers AccessDenied, aws-sdk-js#2625): the instance not ready, with the reason', async () => {
    const [a] = newInstanceIds(1);
    h.sim.world.missingBackupVaults.add(h.settings.backupVaultName);
    try {
      const run = await h.run({ instances: [{ id: a }], input: { DryRun: true }, executionName: 'dry-run-no-vault' });
      expect(run.result.status).toBe('FAILED');
      expect(entryOf(run, a)!.PreflightChecks).toMatch(/^vault: vault .+: DescribeBackupVault failed: AccessDeniedException: Insufficient privileges/);
    } finally {
      h.sim.world.missingBackupVaults.clear();
    }
  });
});
