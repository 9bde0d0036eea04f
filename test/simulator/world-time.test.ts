import { instanceStats } from './measures';
import { Durations, World } from './world';

const DURATIONS: Durations = {
  scriptSeconds: 60, backupSeconds: 3600, copySeconds: 900, stopSeconds: 120, startSeconds: 45, agentReconnectSeconds: 10,
};
const A = 'i-0000000000000000a';
const B = 'i-0000000000000000b';

/**
 * These tests read the events the world EMITS (kinds, states, virtual times): every one is delivered at once, exactly
 * once, here; how they are delivered (late, lost, twice) is event-delivery.test.ts's subject.
 */
function timedWorld(): World {
  const w = new World({ durations: DURATIONS, events: { mode: 'ideal' } });
  w.addInstances([{ id: A }, { id: B, faults: { durations: { backupSeconds: 500 }, lostEvents: ['ec2'] } }]);
  w.clock.startInstance(A);
  w.clock.startInstance(B);
  return w;
}

const cmd = (id: string) => ({ commandId: `cmd-${id === A ? 'A' : 'B'}`, documentName: 'AWS-RunShellScript', comment: 'x:pre', parameters: {} });
const backupParams = (id: string) => ({ BackupVaultName: 'v', ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${id}`, IamRoleArn: 'arn:aws:iam::123456789012:role/r' });

describe('World in time mode (durations)', () => {
  test('a stop completes by time on the instance clock, whatever the number of polls; events carry the virtual time', () => {
    const w = timedWorld();
    const a = w.requireInstance(A);
    w.clock.advance(A, 5);
    w.stopInstance(a);
    for (let i = 0; i < 50; i++) expect(w.observeInstance(a)).toBe('stopping');
    w.clock.advance(A, 119);
    expect(w.observeInstance(a)).toBe('stopping');
    w.clock.advance(A, 1);
    expect(w.observeInstance(a)).toBe('stopped');
    const events = w.takeEvents();
    expect(events.map((e) => [e.kind, e.envelope.detail.state, e.at])).toEqual([['ec2', 'stopping', 5], ['ec2', 'stopped', 125]]);
    expect(events[1].envelope).toMatchObject({ 'source': 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', 'detail': { 'instance-id': A } });
    expect(Date.parse(events[1].envelope.time) - Date.parse(events[0].envelope.time)).toBe(120_000);
    // The other instance's clock did not move.
    expect(w.now(B)).toBe(0);
  });

  test('a script is InProgress until scriptSeconds have passed; a start brings the agent back after agentReconnectSeconds', () => {
    const w = timedWorld();
    const a = w.requireInstance(A);
    w.clock.advance(A, 10);
    const inv = w.sendCommand(a, cmd(A));
    w.clock.advance(A, 59);
    expect(w.observeInvocation(inv).status).toBe('InProgress');
    w.clock.advance(A, 1);
    expect(w.observeInvocation(inv)).toMatchObject({ status: 'Success', responseCode: 0 });
    expect(w.takeEvents().map((e) => e.envelope.detail.status)).toEqual(['Pending', 'InProgress', 'Success']);

    w.stopInstance(a);
    w.clock.advance(A, 120);
    w.observeInstance(a);
    w.startInstance(a);
    w.clock.advance(A, 45);
    expect(w.observeInstance(a)).toBe('running');
    expect(w.pingStatus(a, true)).toBe('ConnectionLost');
    w.clock.advance(A, 9);
    expect(w.pingStatus(a, true)).toBe('ConnectionLost');
    w.clock.advance(A, 1);
    expect(w.pingStatus(a, true)).toBe('Online');
  });

  test('pendingCompletions: soonest first, per-instance duration overrides, hangs never complete', () => {
    const w = timedWorld();
    const b = w.requireInstance(B);
    const job = w.startBackupJob(backupParams(B), B);
    w.clock.advance(B, 100);
    w.stopInstance(b); // completes at 220
    expect(w.pendingCompletions(B).map((p) => [p.kind, p.at])).toEqual([['ec2', 220], ['backup', 500]]);
    w.pendingCompletions(B)[0].apply();
    expect(b.state).toBe('stopped');
    w.pendingCompletions(B)[0].apply();
    expect(job).toMatchObject({ state: 'COMPLETED', terminalAt: 500 });
    expect(w.pendingCompletions(B)).toEqual([]);
    w.setFaults(A, { backup: 'hang' });
    w.startBackupJob(backupParams(A), A);
    expect(w.pendingCompletions(A)).toEqual([]);
  });

  test('lostEvents drops the events of that instance and kind, and counts them', () => {
    const w = timedWorld();
    const b = w.requireInstance(B);
    w.stopInstance(b);
    w.startBackupJob(backupParams(B), B);
    expect(w.takeEvents().map((e) => e.kind)).toEqual(['backup']);
    expect(w.lostEvents.map((e) => [e.kind, e.envelope.detail.state])).toEqual([['ec2', 'stopping']]);
    w.setFaults(B, { lostEvents: true });
    w.sendCommand(w.requireInstance(B), cmd(B));
    expect(w.takeEvents()).toEqual([]);
    expect(w.lostEvents).toHaveLength(2);
    expect(w.eventsEmitted).toBe(3);
  });

  test('instanceStats: downtime (stopped -> start requested) and stopped beyond the backup, from the world records', () => {
    const w = timedWorld();
    const a = w.requireInstance(A);
    w.stopInstance(a); // stopped at 120
    w.clock.advance(A, 120);
    w.observeInstance(a);
    w.startBackupJob(backupParams(A), A); // ends at 120 + 3600
    w.clock.advance(A, 3700);
    w.startInstance(a); // at 3820
    const s = instanceStats(w);
    expect(s[A]).toEqual({ clockSeconds: 3820, chainSeconds: 3820, downtimeSeconds: 3700, stoppedBeyondBackupSeconds: 100 });
    expect(s[B]).toEqual({ clockSeconds: 0, chainSeconds: 0 });
    const b = w.requireInstance(B);
    w.stopInstance(b);
    w.clock.advance(B, 200);
    w.observeInstance(b);
    expect(instanceStats(w)[B]).toEqual({ clockSeconds: 200, chainSeconds: 200, downtimeSeconds: 80, stillStopped: true });
  });
});

describe('World in count mode', () => {
  test('pendingCompletions complete at once (0 s) in start order; hangs and never-completing stops are left out', () => {
    const w = new World();
    w.addInstances([{ id: A, faults: { post: 'hang' } }, { id: B, faults: { stopNeverCompletes: true } }]);
    const a = w.requireInstance(A);
    const pre = w.sendCommand(a, cmd(A));
    const post = w.sendCommand(a, { ...cmd(A), commandId: 'cmd-post', comment: 'x:post' });
    expect(post.phase).toBe('post');
    w.stopInstance(a);
    expect(w.pendingCompletions(A).map((p) => [p.kind, p.at, p.describe])).toEqual([['ec2', 0, `${A} stopping`], ['ssm', 0, 'command cmd-A']]);
    for (const p of w.pendingCompletions(A)) p.apply();
    expect(a.state).toBe('stopped');
    expect(pre.status).toBe('Success');
    expect(post.status).not.toBe('Success');
    expect(w.pendingCompletions(A)).toEqual([]);
    w.stopInstance(w.requireInstance(B));
    expect(w.pendingCompletions(B)).toEqual([]);
  });
});
