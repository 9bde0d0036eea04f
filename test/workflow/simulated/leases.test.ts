import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { assertInvariants, callsAbout, entryOf, Harness, mutatingCalls, newInstanceIds, SimRun } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { REGION } from '../../simulator/world';

/**
 * No overlap: an instance whose lease another run holds is left alone and recorded as skipped; an expired lease
 * is taken over; every lease a run took is given back, whatever happened to the instance.
 */
const OTHER_RUN = `arn:aws:states:${REGION}:123456789012:execution:OtherBackup:ad-hoc-1`;
const now = () => Math.floor(Date.now() / 1000);

describe('per-instance leases', () => {
  let h: Harness;
  let doc: DynamoDBDocumentClient;
  let table: string;

  beforeAll(async () => {
    h = await Harness.start({ props: fullProps(), intercept: ['Instance: acquire lease'] });
    table = h.sim.environment.AUDIT_TABLE_NAME;
    doc = DynamoDBDocumentClient.from(new DynamoDBClient({
      endpoint: h.sim.endpoints.dynamodb,
      region: REGION,
      credentials: { accessKeyId: 'AKIASIMULATOR0000000', secretAccessKey: 'simulator-secret' },
      maxAttempts: 1,
    }));
  });
  afterAll(async () => {
    doc?.destroy();
    await h?.stop();
  });

  const putLease = (instanceId: string, holder: string, leaseExpiresAt: number) => doc.send(new PutCommand({
    TableName: table,
    Item: {
      SM_Execution_ID: `LEASE#${instanceId}`,
      RecordType: 'LEASE',
      InstanceId: instanceId,
      HolderExecutionId: holder,
      AcquiredAt: new Date((leaseExpiresAt - 3600) * 1000).toISOString(),
      LeaseExpiresAt: leaseExpiresAt,
      ExpiresAt: leaseExpiresAt + 86400,
    },
  }));
  const getLease = async (instanceId: string) =>
    (await doc.send(new GetCommand({ TableName: table, Key: { SM_Execution_ID: `LEASE#${instanceId}` }, ConsistentRead: true }))).Item;
  const leasesOf = async (run: SimRun) => (await h.sim.scanTable())
    .filter(i => i.RecordType === 'LEASE' && i.HolderExecutionId === run.result.executionArn);

  test('an instance another run holds gets no call at all, is recorded as skipped with the holder; the run succeeds', async () => {
    const [held, a, b] = newInstanceIds(3);
    const until = now() + 3600;
    await putLease(held, OTHER_RUN, until);
    const run = await h.run({ instances: [{ id: held }, { id: a }, { id: b }], healthy: [a, b] });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');

    // Nothing was done to it: no script, stop, backup or start, and no look at its agent, job or power state.
    expect(mutatingCalls(run).filter(c => c.instanceIds.includes(held))).toEqual([]);
    expect(run.world.commandsFor(held)).toHaveLength(0);
    expect(run.world.backupJobsFor(held)).toHaveLength(0);
    // Only discovery's one look at the whole fleet's SSM status names it.
    expect(callsAbout(run, held).map(c => `${c.service}:${c.action}`)).toEqual(['ssm:DescribeInstanceInformation']);
    // The two instances it worked on: each lease taken and given back; the held one read, never deleted.
    // (Each answered wait's item is deleted too.) The held lease is still there, still the other run's.
    expect(run.calls.filter(c => c.service === 'dynamodb' && c.action === 'DeleteItem').length).toBeGreaterThanOrEqual(2);
    const heldLease = (await h.sim.scanTable()).find(i => i.SM_Execution_ID === `LEASE#${held}`);
    expect(heldLease).toBeDefined();
    const leases = (await h.sim.scanTable()).filter(i => String(i.SM_Execution_ID).startsWith('LEASE#'));
    expect(leases.map(i => i.SM_Execution_ID)).not.toContain(`LEASE#${a}`);
    expect(leases.map(i => i.SM_Execution_ID)).not.toContain(`LEASE#${b}`);
    expect(run.stateHistory[held]).toEqual(['running']);

    const entry = entryOf(run, held)!;
    expect(entry).toMatchObject({
      Outcome: 'SKIPPED',
      FailureMessage: '',
      PreBackupScriptStatus: 'skipped',
      StopEc2InstanceStatus: 'skipped',
      BackupJobStatus: 'skipped',
      StartEc2InstanceStatus: 'skipped',
      PostBackupScriptStatus: 'skipped',
    });
    expect(entry.Notes).toContain('SkippedLeaseHeld');
    expect(entry.Notes).toContain(`by run ${OTHER_RUN} until ${new Date(until * 1000).toISOString()}`);
    for (const id of [a, b]) expect(entryOf(run, id)).toMatchObject({ Outcome: 'SUCCEEDED' });
    expect(run.auditItem).toMatchObject({ Run_Status: 'SUCCEEDED', Run_FailureMessage: '', SucceededCount: 2, FailedCount: 0, SkippedCount: 1 });

    // The other run's lease is untouched; this run left none behind.
    expect(await getLease(held)).toMatchObject({ HolderExecutionId: OTHER_RUN, LeaseExpiresAt: until });
    expect(await leasesOf(run)).toEqual([]);
  });

  test('an expired lease is taken over: the instance is backed up and the lease released', async () => {
    const [stale] = newInstanceIds(1);
    await putLease(stale, OTHER_RUN, now() - 10);
    const run = await h.run({ instances: [{ id: stale }] });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(entryOf(run, stale)).toMatchObject({ Outcome: 'SUCCEEDED', BackupJobStatus: 'COMPLETED' });
    expect(run.world.backupJobsFor(stale)).toHaveLength(1);
    expect(await getLease(stale)).toBeUndefined();
    expect(run.auditItem).toMatchObject({ SkippedCount: 0 });
  });

  test('a failing script and a failing backup: the run fails, and still no lease of it is left', async () => {
    const [scriptFails, backupFails, ok] = newInstanceIds(3);
    const run = await h.run({
      instances: [{ id: scriptFails, faults: { pre: 'Failed' } }, { id: backupFails, faults: { backup: 'FAILED' } }, { id: ok }],
    });
    assertInvariants(run);
    expect(run.result.status).toBe('FAILED');
    expect(entryOf(run, scriptFails)).toMatchObject({ Outcome: 'FAILED' });
    expect(entryOf(run, backupFails)).toMatchObject({ Outcome: 'FAILED', BackupJobStatus: 'FAILED' });
    expect(run.auditItem).toMatchObject({ FailedCount: 2, SkippedCount: 0, SucceededCount: 1 });
    expect(await leasesOf(run)).toEqual([]);
    for (const id of [scriptFails, backupFails, ok]) expect(await getLease(id)).toBeUndefined();
  });

  test('a skipped instance does not hide a failed one: the run fails for the failure only', async () => {
    const [held, broken] = newInstanceIds(2);
    await putLease(held, OTHER_RUN, now() + 600);
    const run = await h.run({ instances: [{ id: held }, { id: broken, faults: { backup: 'ABORTED' } }], healthy: [] });
    assertInvariants(run);
    expect(run.result.status).toBe('FAILED');
    expect(entryOf(run, held)).toMatchObject({ Outcome: 'SKIPPED' });
    expect(run.auditItem!.Run_FailureMessage).toBe(`1 of 2 instances failed: ${broken}`);
    expect(run.auditItem).toMatchObject({ FailedCount: 1, SkippedCount: 1, SucceededCount: 0 });
  });

  test('a lease that cannot be taken: the instance fails untouched, with the reason, and nothing is left behind', async () => {
    const [unlucky, ok] = newInstanceIds(2);
    const run = await h.run({
      instances: [{ id: unlucky }, { id: ok }],
      healthy: [ok],
      hooks: {
        // The put reached DynamoDB, but the handler failed after it (its answer lost, say): the chain releases.
        'Instance: acquire lease': {
          after: (input: any) => {
            if (input.instanceId === unlucky) throw Object.assign(new Error('User is not authorized to perform dynamodb:PutItem'), { name: 'AccessDeniedException' });
          },
        },
      },
    });
    assertInvariants(run);
    expect(run.result.status).toBe('FAILED');
    expect(mutatingCalls(run).filter(c => c.instanceIds.includes(unlucky))).toEqual([]);
    const entry = entryOf(run, unlucky)!;
    expect(entry.Outcome).toBe('FAILED');
    expect(entry.FailureMessage).toBe('instance lease not acquired, instance not touched: AccessDeniedException: User is not authorized to perform dynamodb:PutItem');
    expect(entry.BackupJobStatus).toMatch(/^NotRun: instance lease not acquired/);
    expect(entryOf(run, ok)).toMatchObject({ Outcome: 'SUCCEEDED' });
    expect(await getLease(unlucky)).toBeUndefined();
    expect(await leasesOf(run)).toEqual([]);
  });

  test('two executions on the same fleet one after the other both succeed: the first released every lease', async () => {
    const ids = newInstanceIds(3);
    const first = await h.run({ instances: ids.map(id => ({ id })) });
    const second = await h.run({ instances: [], keepWorld: true });
    for (const run of [first, second]) {
      assertInvariants(run);
      expect(run.result.status).toBe('SUCCEEDED');
      expect(run.auditItem).toMatchObject({ SucceededCount: 3, SkippedCount: 0 });
      expect(await leasesOf(run)).toEqual([]);
    }
    for (const id of ids) expect(run2Jobs(second, id)).toHaveLength(1);
  });
});

function run2Jobs(run: SimRun, id: string) {
  return run.world.backupJobsFor(id).filter(j => run.newJobIds.includes(j.backupJobId));
}
