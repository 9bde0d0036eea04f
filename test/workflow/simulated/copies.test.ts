import { App, Duration, Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import { assertInvariants, entryOf, Harness, newInstanceIds, timeline } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';

const DR_VAULT = 'arn:aws:backup:us-west-2:123456789012:backup-vault:dr-vault';

describe('copies of recovery points to another vault', () => {
  let h: Harness;
  beforeAll(async () => {
    const other = new Stack(new App(), 'Other');
    h = await Harness.start({
      props: fullProps({
        copyToVault: backup.BackupVault.fromBackupVaultArn(other, 'Dr', DR_VAULT),
        copyDeleteAfter: Duration.days(90),
      }),
    });
  });
  afterAll(async () => h?.stop());

  test('each completed recovery point is copied once, after the instance is back and its post-script ran', async () => {
    const ids = newInstanceIds(3);
    const run = await h.run({ instances: ids.map(id => ({ id })) });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    for (const id of ids) {
      const copies = run.world.copyJobsFor(id);
      expect(copies).toHaveLength(1);
      expect(copies[0].params).toMatchObject({
        DestinationBackupVaultArn: DR_VAULT,
        RecoveryPointArn: run.world.backupJobsFor(id)[0].recoveryPointArn,
        Lifecycle: { DeleteAfterDays: 90 },
      });
      const order = run.calls.filter(c => c.instanceIds.includes(id)).map(c => `${c.service}:${c.action}`);
      expect(order.lastIndexOf('ssm:SendCommand')).toBeLessThan(order.indexOf('backup:StartCopyJob'));
      expect(order.indexOf('ec2:StartInstances')).toBeLessThan(order.indexOf('backup:StartCopyJob'));
      expect(entryOf(run, id)).toMatchObject({
        CopyJobStatus: 'COMPLETED',
        CopyJobId: copies[0].copyJobId,
        CopyRecoveryPointArn: copies[0].destinationRecoveryPointArn,
        Outcome: 'SUCCEEDED',
      });
      expect(timeline(run, id).length).toBeGreaterThan(0);
    }
  });

  test.each(['FAILED', 'PARTIAL'] as const)('a copy that ends %s fails its instance with the reason; the others succeed', async state => {
    const [bad, ...good] = newInstanceIds(3);
    const run = await h.run({ instances: [{ id: bad, faults: { copy: state } }, ...good.map(id => ({ id }))] });
    assertInvariants(run);
    expect(run.result.status).toBe('FAILED');
    expect(entryOf(run, bad)).toMatchObject({ CopyJobStatus: state, BackupJobStatus: 'COMPLETED', Outcome: 'FAILED' });
    expect(entryOf(run, bad)!.FailureMessage).toBe(`copy job ${state}: The destination vault refused the copy (simulated).`);
    expect(run.world.instanceStates()[bad]).toBe('running');
    for (const id of good) expect(entryOf(run, id)).toMatchObject({ CopyJobStatus: 'COMPLETED', Outcome: 'SUCCEEDED' });
  });

  test('a copy that never finishes is bounded and recorded as not final', async () => {
    const [slow] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id: slow, faults: { copy: 'hang' } }] });
    assertInvariants(run);
    expect(entryOf(run, slow)).toMatchObject({ CopyJobStatus: 'RUNNING', Outcome: 'FAILED' });
    expect(entryOf(run, slow)!.FailureMessage).toMatch(/^copy job RUNNING: still RUNNING after \d+ s: the workflow stopped waiting$/);
  });

  test('no copy of a backup that did not complete', async () => {
    const [failed] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id: failed, faults: { backup: 'FAILED' } }] });
    assertInvariants(run);
    expect(run.world.copyJobsFor(failed)).toHaveLength(0);
    expect(run.calls.some(c => c.action === 'StartCopyJob')).toBe(false);
    expect(entryOf(run, failed)).toMatchObject({ CopyJobStatus: 'NotRun: earlier step failed', BackupJobStatus: 'FAILED' });
  });

  test('a refused StartCopyJob fails the instance with the error and touches nothing else', async () => {
    const [refused] = newInstanceIds(1);
    const run = await h.run({
      instances: [{ id: refused }],
      faults: [{ service: 'backup', action: 'StartCopyJob', error: { code: 'AccessDeniedException', message: 'the destination vault policy denies it', httpStatus: 403 } }],
    });
    assertInvariants(run);
    expect(entryOf(run, refused)).toMatchObject({ CopyJobStatus: 'Failed', BackupJobStatus: 'COMPLETED', Outcome: 'FAILED' });
    expect(entryOf(run, refused)!.FailureMessage).toContain('AccessDeniedException');
  });
});

describe('without a copy vault', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: fullProps() });
  });
  afterAll(async () => h?.stop());

  test('no copy is made and the entry says skipped', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id }] });
    assertInvariants(run);
    expect(run.calls.some(c => c.action === 'StartCopyJob')).toBe(false);
    expect(entryOf(run, id)).toMatchObject({ CopyJobStatus: 'skipped', CopyJobId: '', Outcome: 'SUCCEEDED' });
  });
});
