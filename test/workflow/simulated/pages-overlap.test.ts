import { ReleaseTiming } from '../../../src';
import { entrySpreadSeconds } from '../../../src/contract/fleet';
import { entrySpread } from '../../../src/workflow/definition';
import { assertInvariants, FAST_WORLD, Harness, newInstanceIds } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';

/**
 * Issue 14, a whole fleet in one night: pages run at the same time (the pages' Map, floor(maxConcurrency / page size)
 * at once) and share one entry schedule, instead of one after another. Pages of 10 here, maxConcurrency 3,000: three
 * pages at once, each page's 10 chains entering in a window of 10 / r seconds placed after the previous page's.
 * Measured on the stand-ins' clocks: each instance's first call (its pre-script's SendCommand) and its last.
 */
const PAGE = 10;
// A page's window at the point in time: ceil(10 / 1.25 chains per s) = 8 s.
const WINDOW = entrySpreadSeconds(PAGE, entrySpread(3000, true));

let h: Harness;
beforeAll(async () => {
  h = await Harness.start({
    // 3,000: pages of up to 1,000 run three at once (src/workflow/definition.ts `concurrency`); discovery's pages are 10.
    props: fullProps({ maxConcurrency: 3000, releaseAt: ReleaseTiming.POINT_IN_TIME }),
    env: { DISCOVERY_PAGE_SIZE: String(PAGE) },
    world: {
      ...FAST_WORLD,
      durations: { scriptSeconds: 60, backupSeconds: 600, copySeconds: 60, stopSeconds: 30, startSeconds: 30, agentReconnectSeconds: 10 },
    },
  });
}, 300_000);
afterAll(async () => h?.stop());

test('three pages at once: page p\'s chains enter in [p x W, (p + 1) x W), and the run takes about one chain, not three', async () => {
  const ids = newInstanceIds(3 * PAGE);
  const run = await h.run({ instances: ids.map((id) => ({ id })) });
  assertInvariants(run);
  expect(run.result.status).toBe('SUCCEEDED');
  expect(run.result.mapRuns!.filter((m) => m.stateName === 'For each instance')).toHaveLength(3);
  const items = await h.sim.scanTable();
  const pageOf = new Map<string, number>();
  for (const item of items.filter((i) => String(i.SM_Execution_ID).startsWith(`PAGE#${run.result.executionArn}#`) && i.Page_Items_Json)) {
    const page = Number(String(item.SM_Execution_ID).split('#').pop());
    for (const instance of JSON.parse(item.Page_Items_Json)) pageOf.set(instance.instanceId, page);
  }
  expect(pageOf.size).toBe(3 * PAGE);
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  for (const c of run.calls) {
    for (const id of c.instanceIds) {
      if (c.action === 'SendCommand' && !first.has(id)) first.set(id, c.at);
      last.set(id, Math.max(last.get(id) ?? 0, c.at));
    }
  }
  for (const id of ids) {
    const p = pageOf.get(id)!;
    // The lease and the agent check come between the turn and the SendCommand: a few seconds.
    expect({ id, page: p, afterWindowStart: first.get(id)! >= p * WINDOW, beforeWindowEnd: first.get(id)! < (p + 1) * WINDOW + 30 })
      .toEqual({ id, page: p, afterWindowStart: true, beforeWindowEnd: true });
  }
  // One after another, three pages would take three chains; at once they take one chain plus the entry schedule.
  const chain = Math.max(...ids.map((id) => last.get(id)! - first.get(id)!));
  const makespan = Math.max(...last.values());
  process.stdout.write(`3 pages of ${PAGE} at once: makespan ${makespan.toFixed(0)} s, longest chain ${chain.toFixed(0)} s, window ${WINDOW} s\n`);
  expect(makespan).toBeLessThan(3 * WINDOW + chain + 60);
  expect(makespan).toBeLessThan(2 * chain);
});
