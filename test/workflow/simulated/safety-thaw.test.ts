import { Duration } from 'aws-cdk-lib';
import { BackupScript, ReleaseTiming } from '../../../src';
import { assertInvariants, callsAbout, entryOf, FAST_WORLD, Harness, newInstanceIds, startingState } from '../../helpers/harness';
import { InstanceShell } from '../../simulator/fakes/instance-shell';

/**
 * Issue 15, invariant 7: a frozen application never outlives its freeze budget. The ready-made freeze
 * (BackupScript.linuxFilesystemFreeze / linuxFilesystemThaw) runs for real in the instance's shell
 * (test/simulator/fakes/instance-shell.ts), with the command lines SSM received: it arms a systemd timer before it
 * freezes; the thaw disarms it. A run stopped while the instance is frozen leaves the timer, which thaws when the
 * instance's clock reaches its due time.
 */

/** The freeze budget's default (30 min) plus the 10 min margin. */
const SAFETY_THAW_SECONDS = 2400;

const sendCommands = (run: { calls: Array<{ service: string; action: string; instanceIds: string[]; params: any }> }, id: string) =>
  callsAbout(run as any, id, 'ssm:SendCommand').map((c) => c.params as { Comment: string; Parameters: Record<string, string[]> });

describe('the safety thaw of the ready-made freeze (issue 15)', () => {
  let h: Harness;
  const shells: InstanceShell[] = [];
  beforeAll(async () => {
    h = await Harness.start({
      props: {
        preScript: BackupScript.linuxFilesystemFreeze({ mountPoints: ['/data', '/var/lib/mysql'] }),
        postScript: BackupScript.linuxFilesystemThaw(),
      },
    });
  });
  afterAll(async () => {
    shells.forEach((s) => s.dispose());
    await h?.stop();
  });
  const shellFor = (id: string) => {
    const shell = InstanceShell.attach(h.sim.world, id, { assetDir: h.assetDir, mountPoints: ['/data', '/var/lib/mysql'] });
    shells.push(shell);
    return shell;
  };

  test('a normal run: the freeze arms the timer first, the thaw disarms it; SafetyThawFired false; the timer never fires', async () => {
    const [id] = newInstanceIds(1);
    const shell = shellFor(id);
    const run = await h.run({ instances: [{ id }], executionName: 'nightly-1' });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');

    // The commands as sent: the ready-made scripts, their parameters, the run's name in place of %EXECUTION_NAME%.
    const sent = sendCommands(run, id);
    expect(sent.map((p) => p.Comment)).toEqual(['ppsb:nightly-1:pre', 'ppsb:nightly-1:post']);
    const [pre, post] = sent.map((p) => p.Parameters);
    expect(pre.commandLine[0]).toMatch(/^bash ([0-9a-f]{64})\.sh --mount-points \/data,\/var\/lib\/mysql --safety-thaw-seconds 2400 --run-id nightly-1$/);
    expect(post.commandLine[0]).toMatch(/^bash ([0-9a-f]{64})\.sh --run-id nightly-1$/);
    expect(pre.executionTimeout).toEqual(['120']);
    // Each names the file SSM downloads: the object of its own sourceInfo (the key's last segment).
    for (const p of [pre, post]) {
      const key = JSON.parse(p.sourceInfo[0]).path.split('/').pop();
      expect(p.commandLine[0].split(' ')[1]).toBe(key);
    }

    // On the instance: both scripts ran and succeeded; the timer was armed before the first freeze, stopped by the thaw.
    expect(shell.runs.map((r) => [r.exitCode, r.stdout.split('\n').filter((l) => l.startsWith('result='))])).toEqual([
      [0, ['result=frozen']], [0, ['result=thawed']],
    ]);
    const calls = shell.calls();
    const arm = calls.findIndex((c) => c.startsWith('systemd-run '));
    expect(calls[arm]).toMatch(/^systemd-run --unit=ppsb-fsfreeze-thaw-nightly-1-\d+-\d+ --description=.* --on-active=2400s --timer-property=AccuracySec=1s \S+bash \S+\/run\/ppsb-fsfreeze\/nightly-1\/safety-thaw\.sh$/);
    expect(arm).toBeLessThan(calls.indexOf('fsfreeze -f /data'));
    expect(calls.filter((c) => c.startsWith('fsfreeze') || c.startsWith('systemctl stop'))).toEqual([
      'fsfreeze -f /data', 'fsfreeze -f /var/lib/mysql', 'fsfreeze -u /data', 'fsfreeze -u /var/lib/mysql', expect.stringMatching(/^systemctl stop ppsb-fsfreeze-thaw-nightly-1-.*\.timer$/),
    ]);
    expect(shell.frozen()).toEqual([]);
    expect(shell.timers()).toEqual([]);
    expect(shell.disarmed()).toHaveLength(1);
    expect(shell.runs[1].stdout).toContain('safety_thaw_fired=false');

    const entry = entryOf(run, id)!;
    expect(entry).toMatchObject({ PreBackupScriptStatus: 'Success', PostBackupScriptStatus: 'Success', SafetyThawFired: false, Outcome: 'SUCCEEDED' });

    // Long after: nothing fires.
    h.sim.world.clock.advance(id, SAFETY_THAW_SECONDS * 2);
    expect(shell.fireDueTimers()).toEqual([]);
    expect(shell.freezeHistory().map((e) => `${e.result} ${e.mountPoint}`)).toEqual([
      'frozen /data', 'frozen /var/lib/mysql', 'thawed /data', 'thawed /var/lib/mysql',
    ]);
  }, 120_000);

  test('a run stopped (StopExecution) while the instance is frozen: the timer it left thaws at arm time + delay', async () => {
    const [id] = newInstanceIds(1);
    const shell = shellFor(id);
    const run = await h.run({
      instances: [{ id }],
      executionName: 'nightly-2',
      // Stopped by hand once the pre-script froze the instance, as the backup job was about to start.
      kills: [{ stateName: startingState('backup'), instanceId: id, stopExecution: true }],
      healthy: [],
    });
    expect(run.result.status).toBe('ABORTED');
    expect(run.world.commandsFor(id).map((c) => c.phase)).toEqual(['pre']); // the workflow never sent the thaw
    expect(run.world.backupJobsFor(id)).toEqual([]);

    // Frozen, with one timer armed before the freeze.
    expect(shell.frozen()).toEqual(['/data', '/var/lib/mysql']);
    const [timer] = shell.timers();
    expect(timer.dueAt - timer.armedAt).toBe(SAFETY_THAW_SECONDS);
    const frozenAt = shell.freezeHistory()[0].at;
    expect(timer.armedAt).toBeLessThanOrEqual(frozenAt);
    expect(timer.command[1]).toMatch(/\/run\/ppsb-fsfreeze\/nightly-2\/safety-thaw\.sh$/);

    // The instance's clock moves on: not yet at arm time + delay - 1 s, thawed at arm time + delay.
    h.sim.world.clock.advance(id, timer.dueAt - shell.now() - 1);
    expect(shell.fireDueTimers()).toEqual([]);
    expect(shell.frozen()).toEqual(['/data', '/var/lib/mysql']);
    h.sim.world.clock.advance(id, 1);
    const [fired] = shell.fireDueTimers();
    expect(fired).toMatchObject({ unit: timer.unit, firedAt: timer.armedAt + SAFETY_THAW_SECONDS, exitCode: 0 });
    expect(shell.frozen()).toEqual([]);
    expect(shell.freezeHistory().filter((e) => e.result === 'thawed')).toEqual([
      { at: timer.armedAt + SAFETY_THAW_SECONDS, result: 'thawed', mountPoint: '/data' },
      { at: timer.armedAt + SAFETY_THAW_SECONDS, result: 'thawed', mountPoint: '/var/lib/mysql' },
    ]);
    // Recorded on the instance: the safety thaw's marker, which the thaw reports as safety_thaw_fired=true.
    const marker = shell.safetyThawMarker('nightly-2');
    expect(marker).toMatchObject({
      fired_at: new Date((timer.armedAt + SAFETY_THAW_SECONDS) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      thawed: '/data,/var/lib/mysql',
      failed: '',
    });
  }, 120_000);
});

describe('a backup longer than the safety-thaw delay (issue 15, time mode)', () => {
  let h: Harness;
  let shell: InstanceShell | undefined;
  beforeAll(async () => {
    h = await Harness.start({
      props: {
        // Released at the job's end, bounded by a 30-minute budget counted from the job's start call, the job takes an
        // hour, and the stop and start come between the freeze and the release: the safety timer (31 minutes from the
        // freeze) thaws first.
        preScript: BackupScript.linuxFilesystemFreeze({ mountPoints: ['/data'], safetyThawDelay: Duration.minutes(31) }),
        postScript: BackupScript.linuxFilesystemThaw(),
        stopInstances: true,
        releaseAt: ReleaseTiming.JOB_COMPLETION,
        freezeBudget: Duration.minutes(30),
      },
      world: {
        ...FAST_WORLD,
        durations: { scriptSeconds: 5, backupSeconds: 3600, copySeconds: 600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30 },
      },
    });
  });
  afterAll(async () => {
    shell?.dispose();
    await h?.stop();
  });

  test('the timer thaws during the job; the post-script finds it fired, thaws nothing more, and the audit says SafetyThawFired true', async () => {
    const [id] = newInstanceIds(1);
    shell = InstanceShell.attach(h.sim.world, id, { assetDir: h.assetDir, mountPoints: ['/data'] });
    const run = await h.run({ instances: [{ id }], executionName: 'nightly-3' });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    const [armed] = shell.fired;
    expect(armed.dueAt - armed.armedAt).toBe(1860);
    const post = shell.runs[1];
    expect(post.at).toBeGreaterThan(armed.dueAt); // the thaw came after the timer
    expect(shell.freezeHistory().map((e) => `${e.at - armed.armedAt} ${e.result} ${e.mountPoint}`)).toEqual([
      '0 frozen /data', '1860 thawed /data', `${post.at - armed.armedAt} thaw-einval /data`,
    ]);
    expect(post.stdout).toContain('safety_thaw_fired=true');
    expect(post.stdout).toContain('result=thawed-after-safety-thaw');
    expect(entryOf(run, id)).toMatchObject({ PostBackupScriptStatus: 'Success', SafetyThawFired: true, BackupJobStatus: 'COMPLETED' });
  }, 180_000);
});
