import { DEFAULT_EVENT_DELIVERY, EventDelivery, unitHash } from './events/delivery';
import { World } from './world';

const A = 'i-0000000000000000a';
const B = 'i-0000000000000000b';

describe('EventDelivery: when a state-change event reaches the rule\'s target (docs/fidelity/events.md)', () => {
  test('AWS Backup job and copy events come with the next 5-minute batch; a change on a boundary waits for the next one', () => {
    const d = new EventDelivery({ lossRate: 0, duplicateRate: 0, lateBatchRate: 0 });
    expect([0, 1, 299, 300, 301, 3599.5].map((at) => d.plan('backup', 0, 1, at).deliverAt)).toEqual([300, 300, 300, 600, 600, 3600]);
    expect(d.plan('copy', 3, 7, 1000).deliverAt).toBe(1200);
    // A batch the event misses: it comes with the one after (here every time).
    const late = new EventDelivery({ lossRate: 0, duplicateRate: 0, lateBatchRate: 1 });
    expect(late.plan('backup', 0, 1, 299).deliverAt).toBe(600);
    expect(late.maxDelay('backup')).toBe(600);
  });

  test('EC2 and SSM events come 1 to 60 s after the change (near real time)', () => {
    const d = new EventDelivery({ lossRate: 0, duplicateRate: 0 });
    const delays = Array.from({ length: 2000 }, (_, i) => d.plan(i % 2 ? 'ec2' : 'ssm', i % 7, i, 100).deliverAt - 100);
    expect(Math.min(...delays)).toBe(1);
    expect(Math.max(...delays)).toBe(60);
    expect(d.maxDelay('ec2')).toBe(60);
  });

  test('a seeded share is lost, a share comes twice, a share misses its batch: the defaults, and the same every time', () => {
    const d = new EventDelivery();
    expect(d.options).toEqual(DEFAULT_EVENT_DELIVERY);
    const plans = Array.from({ length: 20_000 }, (_, i) => d.plan('backup', i % 50, Math.floor(i / 50) + 1, 10));
    const share = (n: number) => n / plans.length;
    const lost = plans.filter((p) => p.lost);
    const delivered = plans.filter((p) => !p.lost);
    expect(share(lost.length)).toBeCloseTo(0.05, 2);
    expect(delivered.filter((p) => p.duplicateAt !== undefined).length / delivered.length).toBeCloseTo(0.1, 1);
    expect(delivered.filter((p) => p.deliverAt === 600).length / delivered.length).toBeCloseTo(0.1, 1);
    expect(delivered.filter((p) => ![300, 600].includes(p.deliverAt) || (p.duplicateAt ?? p.deliverAt) < p.deliverAt)).toEqual([]);
    // Reproducible: the same seed gives the same plans; another seed gives others.
    expect(Array.from({ length: 200 }, (_, i) => new EventDelivery().plan('ec2', 1, i, 5))).toEqual(
      Array.from({ length: 200 }, (_, i) => d.plan('ec2', 1, i, 5)));
    expect(Array.from({ length: 200 }, (_, i) => new EventDelivery({ seed: 2 }).plan('ec2', 1, i, 5))).not.toEqual(
      Array.from({ length: 200 }, (_, i) => d.plan('ec2', 1, i, 5)));
    expect(unitHash(1, 'a')).toBe(unitHash(1, 'a'));
  });

  test('ideal mode delivers at once, exactly once; rates outside [0, 1] are refused', () => {
    const d = new EventDelivery({ mode: 'ideal', lossRate: 1, duplicateRate: 1 });
    expect(d.plan('backup', 0, 1, 123)).toEqual({ lost: false, deliverAt: 123 });
    expect(d.maxDelay('backup')).toBe(0);
    expect(() => new EventDelivery({ lossRate: 1.5 })).toThrow(/lossRate/);
  });
});

describe('World: emitted events are due when their instance\'s clock reaches the delivery time', () => {
  function stopAndSettle(w: World, id: string): void {
    w.stopInstance(w.requireInstance(id));
    w.pendingCompletions(id)[0].apply();
  }

  test('by default (realistic) nothing is due at the change; the clock moving on makes it due, a duplicate after its original', () => {
    const w = new World({ events: { lossRate: 0, duplicateRate: 1 } });
    w.addInstance({ id: A });
    w.clock.startInstance(A);
    stopAndSettle(w, A);
    expect(w.takeDueEvents()).toEqual([]);
    const first = w.nextDeliveryAt(A)!;
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThanOrEqual(60);
    w.clock.advance(A, 120);
    const due = w.takeDueEvents();
    // stopping and stopped, each with its second copy (duplicateRate 1), soonest first, a copy never before its original.
    expect(due.map((e) => [e.envelope.detail.state, !!e.duplicate])).toEqual(expect.arrayContaining([
      ['stopping', false], ['stopping', true], ['stopped', false], ['stopped', true],
    ]));
    expect(due).toHaveLength(4);
    for (let i = 1; i < due.length; i++) expect(due[i].deliverAt).toBeGreaterThanOrEqual(due[i - 1].deliverAt);
    for (const copy of due.filter((e) => e.duplicate)) {
      expect(due.indexOf(copy)).toBeGreaterThan(due.findIndex((e) => e.seq === copy.seq && !e.duplicate));
    }
    expect(w.nextDeliveryAt(A)).toBeUndefined();
  });

  test('lost events (lossRate 1) are listed and never due; ideal mode makes every event due at once', () => {
    const lossy = new World({ events: { lossRate: 1 } });
    lossy.addInstance({ id: A });
    stopAndSettle(lossy, A);
    expect(lossy.lostEvents.map((e) => e.envelope.detail.state)).toEqual(['stopping', 'stopped']);
    expect(lossy.outbox).toEqual([]);

    const ideal = new World({ events: { mode: 'ideal' } });
    ideal.addInstance({ id: A });
    stopAndSettle(ideal, A);
    expect(ideal.takeDueEvents().map((e) => e.envelope.detail.state)).toEqual(['stopping', 'stopped']);
  });

  test('the decisions depend on the instance and the event, not on the order concurrent chains emit in', () => {
    const plans = (order: string[]) => {
      const w = new World();
      w.addInstances([{ id: A }, { id: B }]);
      for (const id of order) w.stopInstance(w.requireInstance(id));
      for (const id of order) w.pendingCompletions(id)[0].apply();
      const all = [...w.outbox, ...w.lostEvents];
      return [A, B].map((id) => all.filter((e) => e.instanceId === id)
        .map((e) => [e.envelope.detail.state, e.deliverAt, !!e.duplicate, w.lostEvents.includes(e)]));
    };
    expect(plans([A, B])).toEqual(plans([B, A]));
  });
});
