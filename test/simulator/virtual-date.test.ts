import { installVirtualDate, RealDate, withVirtualNow } from './virtual-date';

installVirtualDate();

const AT = new Date('2026-01-01T00:00:00.000Z');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('inside withVirtualNow the clock reads the virtual time, then moves on with the wall clock', async () => {
  const seen = await withVirtualNow(AT, async () => {
    const first = Date.now();
    await pause(300);
    return { first, later: new Date().getTime() };
  });
  expect(seen.first - AT.getTime()).toBeLessThan(100);
  expect(seen.later - seen.first).toBeGreaterThanOrEqual(250);
});

test('a bounded clock moves on by at most its drift, however long the wall clock runs (a handler queued in the simulator)', async () => {
  const seen = await withVirtualNow(AT, async () => {
    await pause(400);
    return Date.now();
  }, 100);
  expect(seen - AT.getTime()).toBe(100);
});

test('outside, the clock is the wall clock; what a run starts inherits its clock', async () => {
  expect(Math.abs(Date.now() - RealDate.now())).toBeLessThan(50);
  const inherited = await withVirtualNow(AT, () => new Promise<number>((resolve) => setTimeout(() => resolve(Date.now()), 10)), 0);
  expect(inherited).toBe(AT.getTime());
});
