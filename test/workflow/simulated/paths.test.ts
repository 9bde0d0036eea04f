import { BackupScript, PrePostScriptBackupProps } from '../../../src';
import { assertInvariants, callsAbout, entryOf, Harness, newInstanceIds, SimRun, timeline, TimelineStep, Toggles } from '../../helpers/harness';
import { fixture, fullProps } from '../../helpers/stacks';

/**
 * The eight paths (pre on/off × stop on/off × post on/off), for one instance and for a fleet of 4: the order of
 * the calls the fakes saw for each instance, and each instance's audit entry.
 */
const COMBOS: Toggles[] = [false, true].flatMap((pre) => [false, true].flatMap((stop) => [false, true].map((post) => ({ pre, stop, post }))));
const label = (t: Toggles) => `pre ${t.pre ? 'on' : 'off'}, stop ${t.stop ? 'on' : 'off'}, post ${t.post ? 'on' : 'off'}`;

function expectedTimeline(t: Toggles): TimelineStep[] {
  const steps: TimelineStep[] = [];
  if (t.pre) steps.push('pre');
  if (t.stop) steps.push('stop');
  steps.push('backup');
  if (t.stop) steps.push('start');
  if (t.post) steps.push('post');
  return steps;
}

function expectHealthyPath(run: SimRun, t: Toggles): void {
  assertInvariants(run);
  expect(run.result.status).toBe('SUCCEEDED');
  expect(run.auditItem).toMatchObject({
    Run_Status: 'SUCCEEDED',
    Run_FailureMessage: '',
    StopInstances: t.stop,
    PreBackupScriptEnabled: t.pre,
    PostBackupScriptEnabled: t.post,
  });
  for (const id of run.discovered) {
    expect(timeline(run, id)).toEqual(expectedTimeline(t));
    expect(entryOf(run, id)).toMatchObject({
      InstanceId: id,
      PreBackupScriptStatus: t.pre ? 'Success' : 'skipped',
      StopEc2InstanceStatus: t.stop ? 'Success' : 'skipped',
      BackupJobStatus: 'COMPLETED',
      StartEc2InstanceStatus: t.stop ? 'Success' : 'skipped',
      PostBackupScriptStatus: t.post ? 'Success' : 'skipped',
      FailureMessage: '',
      Outcome: 'SUCCEEDED',
    });
    expect(run.world.instanceStates()[id]).toBe('running');
    // The instance is back (start) and the post-script runs once the backup job was started (released at its point in
    // time: the harness checks that the job's snapshots had started), each once.
    const jobStarted = callsAbout(run, id, 'backup:StartBackupJob')[0]!.seq;
    const afterBackup = run.calls.filter((c) => c.instanceIds.includes(id) && !c.error
      && ['ec2:StartInstances', 'ssm:SendCommand'].includes(`${c.service}:${c.action}`) && c.seq > jobStarted);
    expect(afterBackup.length).toBe((t.stop ? 1 : 0) + (t.post ? 1 : 0));
    expect(entryOf(run, id)!.Consistency).toBe(t.pre || t.stop ? 'application-consistent' : 'crash-consistent');
    if (t.stop) {
      // Stopped before the job started, and the job ran on the stopped instance.
      expect(run.stateHistory[id]).toEqual(['running', 'stopping', 'stopped', 'pending', 'running']);
    } else {
      expect(run.stateHistory[id]).toEqual(['running']);
    }
  }
}

describe.each(COMBOS)('toggles by props: %p', (t) => {
  let h: Harness;
  beforeAll(async () => {
    // A script turned off by its run* prop (rather than left out) covers that prop too.
    const props: PrePostScriptBackupProps = {
      preScript: t.pre || t.post ? BackupScript.fromAsset(fixture('freeze.sh')) : undefined,
      runPreScript: t.pre || t.post ? t.pre : undefined,
      postScript: t.post || t.pre ? BackupScript.fromAsset(fixture('thaw.sh')) : undefined,
      runPostScript: t.post || t.pre ? t.post : undefined,
      stopInstances: t.stop,
    };
    h = await Harness.start({ props });
  });
  afterAll(async () => h?.stop());

  test(`one instance (${label(t)})`, async () => {
    const run = await h.run({ instances: newInstanceIds(1).map((id) => ({ id })) });
    expectHealthyPath(run, t);
  });

  test(`a fleet of 4 (${label(t)})`, async () => {
    const run = await h.run({ instances: newInstanceIds(4).map((id) => ({ id })) });
    expect(run.discovered).toHaveLength(4);
    expectHealthyPath(run, t);
  });
});

describe('toggles by execution input (every step configured)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: fullProps({ stopInstances: false }) });
  });
  afterAll(async () => h?.stop());

  test.each(COMBOS)('one instance: %p', async (t) => {
    const input = { RunPreBackupScript: t.pre, StartStopEC2Required: t.stop, RunPostBackupScript: t.post };
    const run = await h.run({ instances: newInstanceIds(1).map((id) => ({ id })), input });
    expect(run.toggles).toEqual(t);
    expectHealthyPath(run, t);
  });

  test.each(COMBOS)('a fleet of 4, booleans as strings: %p', async (t) => {
    const input = { RunPreBackupScript: String(t.pre), StartStopEC2Required: String(t.stop), RunPostBackupScript: String(t.post) };
    const run = await h.run({ instances: newInstanceIds(4).map((id) => ({ id })), input });
    expect(run.toggles).toEqual(t);
    expectHealthyPath(run, t);
  });

  test('{} runs as the props configured', async () => {
    const run = await h.run({ instances: newInstanceIds(2).map((id) => ({ id })), input: {} });
    expectHealthyPath(run, { pre: true, stop: false, post: true });
  });
});

describe('an instance stopped when the run began (every step configured)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: fullProps({ stopInstances: true }) });
  });
  afterAll(async () => h?.stop());

  const notRunStopped = expect.stringMatching(/^NotRun: instance was stopped when the run began/);

  test('backed up as it is and left stopped: its steps that were on say they were not run, and why (never skipped)', async () => {
    const [running, stopped] = newInstanceIds(2);
    const run = await h.run({ instances: [{ id: running }, { id: stopped, state: 'stopped' }] });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(entryOf(run, stopped)).toMatchObject({
      InstanceStateAtStart: 'stopped',
      PreBackupScriptStatus: notRunStopped,
      StopEc2InstanceStatus: notRunStopped,
      BackupJobStatus: 'COMPLETED',
      StartEc2InstanceStatus: notRunStopped,
      PostBackupScriptStatus: notRunStopped,
      FailureMessage: '',
      Outcome: 'SUCCEEDED',
    });
    expect(run.world.instanceStates()).toEqual({ [running]: 'running', [stopped]: 'stopped' });
    expect(timeline(run, stopped)).toEqual(['backup']);
  });

  test('a step the run turned off still reads skipped', async () => {
    const [stopped] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id: stopped, state: 'stopped' }], input: { RunPreBackupScript: false } });
    assertInvariants(run);
    expect(entryOf(run, stopped)).toMatchObject({
      PreBackupScriptStatus: 'skipped',
      StopEc2InstanceStatus: notRunStopped,
      BackupJobStatus: 'COMPLETED',
      PostBackupScriptStatus: notRunStopped,
      Outcome: 'SUCCEEDED',
    });
  });
});
