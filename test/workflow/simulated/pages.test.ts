import { MAX_DISCOVERY_PAGES } from '../../../src/functions/discover-instances/discover-instances.lambda';
import { assertInvariants, Harness, newInstanceIds, SimRun } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { realProcess } from '../../simulator/lambda';
import { PAYLOAD_LIMIT_BYTES } from '../../simulator/map-run';

/**
 * The fleet level in pages: discovery hands out DISCOVERY_PAGE_SIZE instances at a time (10 here), each page gets
 * its own Map, its entries and counts are recorded, and the run's record covers every page. What the state carries
 * does not grow with the number of pages.
 */
const PAGE_SIZE = 10;

let h: Harness;
beforeAll(async () => {
  // Handlers read DISCOVERY_PAGE_SIZE at each call; the simulator restores the environment when it stops.
  h = await Harness.start({ props: fullProps({ maxConcurrency: 5 }), env: { DISCOVERY_PAGE_SIZE: String(PAGE_SIZE) } });
}, 300_000);
afterAll(async () => h?.stop());

function invocations(run: SimRun, fn: string): number {
  return Object.entries(run.result.stats.lambdaInvocations).filter(([name]) => name.includes(fn)).reduce((n, [, c]) => n + c, 0);
}

async function instanceItems(run: SimRun): Promise<Array<Record<string, any>>> {
  return (await h.sim.scanTable()).filter((i) => i.RecordType === 'INSTANCE' && i.Run_Execution_ID === run.result.executionArn);
}

describe('a run in pages of 10', () => {
  test('25 instances (a few failing) and 3 terminated: 3 pages, every instance its chain and its entry, complete counts', async () => {
    const ids = newInstanceIds(25);
    const terminated = newInstanceIds(3);
    const run = await h.run({
      instances: [
        ...ids.map((id, i) => ({
          id,
          ...(i === 3 ? { faults: { pre: 'Failed' as const } } : {}),
          ...(i === 14 ? { faults: { backup: 'EXPIRED' as const } } : {}),
          ...(i === 24 ? { faults: { stopError: { code: 'UnsupportedOperation', message: 'cannot stop' } } } : {}),
        })),
        ...terminated.map((id) => ({ id, state: 'terminated' as const })),
      ],
    });
    assertInvariants(run);
    expect(run.result.status).toBe('FAILED');

    expect(invocations(run, 'DiscoverInstances')).toBe(3);
    expect(invocations(run, 'RecordPage')).toBe(3);
    expect(invocations(run, 'RecordRun')).toBe(1);
    // Every instance its own chain, once: one lease, one audit entry written by its chain.
    expect(invocations(run, 'AcquireLease')).toBe(25);
    expect(invocations(run, 'RecordInstance')).toBe(25);
    for (const id of ids) {
      expect(run.world.backupJobsFor(id).filter((j) => run.newJobIds.includes(j.backupJobId)).length).toBe(id === ids[3] || id === ids[24] ? 0 : 1);
    }
    const items = await instanceItems(run);
    expect(items.map((i) => i.InstanceId).sort()).toEqual([...ids].sort());
    expect(run.auditItem).toMatchObject({
      Run_Status: 'FAILED',
      InstanceCount: 25,
      SucceededCount: 22,
      FailedCount: 3,
      SkippedCount: 0,
      ExcludedCount: 3,
      ExcludedInstances_Complete: true,
      DiscoveryPages: 3,
      Workflow_Overall_Status_Complete: true,
    });
    expect(run.auditItem!.ExcludedInstances.map((e: any) => e.InstanceId).sort()).toEqual([...terminated].sort());
    expect(run.auditItem!.Run_FailureMessage).toBe(`3 of 25 instances failed: ${[ids[3], ids[14], ids[24]].sort().join(', ')}`);
    for (const id of terminated) {
      expect(run.calls.filter((c) => c.instanceIds.includes(id) && c.action !== 'DescribeInstances')).toEqual([]);
    }
  }, 300_000);

  test('TargetEC2Instances: 12 of 30 listed, 2 pages, only those 12 touched', async () => {
    const ids = newInstanceIds(30);
    const listed = ids.filter((_, i) => i % 5 < 2);
    expect(listed).toHaveLength(12);
    const run = await h.run({ instances: ids.map((id) => ({ id })), input: { TargetEC2Instances: listed } });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    const pages = Math.ceil(listed.length / PAGE_SIZE);
    expect(run.auditItem).toMatchObject({ InstanceCount: listed.length, SucceededCount: listed.length, DiscoveryPages: pages });
    expect(invocations(run, 'DiscoverInstances')).toBe(pages);
    const touched = new Set(run.calls.filter((c) => c.action === 'StartBackupJob').flatMap((c) => c.instanceIds));
    expect([...touched].sort()).toEqual([...listed].sort());
  }, 300_000);

  test('the largest state payload grows only by a page descriptor per page (2 vs 6 pages), bounded at the most pages', async () => {
    // Pages of 30: the fleet level's states (a page of instances or outcomes next to the run's configuration) are
    // then larger than any state of an instance's chain, so the largest payload is the fleet level's. (Chains released
    // at the point in time carry the snapshots seen at release to the check at the job's end: about 5.1 KB, more than a
    // page of 25.)
    const pageSize = 30;
    realProcess.env.DISCOVERY_PAGE_SIZE = String(pageSize);
    try {
      // Each run is checked before the next one resets the world.
      const two = await h.run({ instances: newInstanceIds(2 * pageSize).map((id) => ({ id })) });
      assertInvariants(two);
      const six = await h.run({ instances: newInstanceIds(6 * pageSize).map((id) => ({ id })) });
      assertInvariants(six);
      expect([two.result.status, six.result.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      expect(two.auditItem).toMatchObject({ InstanceCount: 2 * pageSize, DiscoveryPages: 2 });
      expect(six.auditItem).toMatchObject({ InstanceCount: 6 * pageSize, DiscoveryPages: 6 });
      const topLevel = Object.keys(h.sim.stateMachine.definition.States);
      const p2 = two.result.stats.largestStatePayloadBytes;
      const p6 = six.result.stats.largestStatePayloadBytes;
      process.stdout.write(`largest state payload: 2 pages ${p2} B (${two.result.stats.largestStatePayloadState}), `
        + `6 pages ${p6} B (${six.result.stats.largestStatePayloadState})\n`);
      expect(topLevel).toContain(two.result.stats.largestStatePayloadState);
      expect(topLevel).toContain(six.result.stats.largestStatePayloadState);
      // The fleet level keeps one descriptor per page (PageDescriptor: number, counts, entry window), never the pages'
      // instances: four more pages add at most 4 x 120 bytes (and the digits of the counts).
      expect(p6 - p2).toBeLessThanOrEqual(4 * 120 + 32);
      // At the most pages a run may discover, the descriptors and a page of 1,000 instances still fit in 256 KiB.
      const perPage = (p6 - p2) / 4;
      const pageOfInstances = (p2 - 2 * perPage) * (1000 / pageSize);
      expect(MAX_DISCOVERY_PAGES * Math.max(perPage, 120) + pageOfInstances).toBeLessThan(PAYLOAD_LIMIT_BYTES);
    } finally {
      realProcess.env.DISCOVERY_PAGE_SIZE = String(PAGE_SIZE);
    }
  }, 600_000);
});
