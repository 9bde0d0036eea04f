/**
 * How the state-change events reach the default bus and its rule's Lambda target, as AWS documents it (ledger:
 * docs/fidelity/events.md). By default ("realistic"):
 *
 * - AWS Backup job and copy events come in batches: "AWS Backup emits events to EventBridge in a best-effort manner
 *   every 5 minutes". A change is delivered at the next batch boundary after it (multiples of `backupBatchSeconds` on
 *   the instance's clock, a change on a boundary going to the next one), and a share (`lateBatchRate`) one batch later
 *   still: up to two batches after the change. The docs give no bound beyond "best effort", which allows loss.
 * - EC2 and SSM events are best effort and "near real time", with no figure: each is delayed by a seeded 1 to
 *   `maxDelaySeconds` seconds (default 60).
 * - Best effort: "in some rare cases an event might not be delivered": a seeded share (`lossRate`) is lost.
 * - At least once: Lambda's asynchronous invocation (how EventBridge calls a Lambda target) may hand "the same event
 *   multiple times" to the function: a seeded share (`duplicateRate`) is delivered twice, the copy 0 to
 *   `maxDelaySeconds` - 1 seconds after the first (at the same moment: both invocations run concurrently).
 * - A target (Lambda) that fails is run again by Lambda's asynchronous invocation 1 minute, then 2 minutes later.
 *
 * Every decision is a hash of the seed, the instance's position in the world, the event's kind and its ordinal among
 * that instance's events of that kind: the same seed and run give the same deliveries, whatever the order in which
 * concurrent chains' calls reach the fakes. `mode: 'ideal'` delivers every event at once, exactly once (for the few
 * tests about routing itself); the per-instance `lostEvents` fault still drops events in both modes.
 */
import { createHash } from 'crypto';
import type { EventKind } from './envelope';

export interface EventDeliveryOptions {
  /** `realistic` (default): delayed, some lost, some twice, as AWS documents; `ideal`: at once, exactly once. */
  readonly mode?: 'realistic' | 'ideal';
  /** Seed of every loss, duplicate and delay (default 1). */
  readonly seed?: number;
  /** Share of events lost (default 0.05: best effort, "rare cases"). */
  readonly lossRate?: number;
  /** Share of delivered events delivered a second time (default 0.1: at-least-once). */
  readonly duplicateRate?: number;
  /** AWS Backup's batch interval in seconds (default 300: "every 5 minutes"). */
  readonly backupBatchSeconds?: number;
  /** Share of AWS Backup events that miss their batch and come with the next one (default 0.1). */
  readonly lateBatchRate?: number;
  /** Longest delay of an EC2 / SSM event, and of a duplicate after its first copy, in seconds (default 60). */
  readonly maxDelaySeconds?: number;
}

export const DEFAULT_EVENT_DELIVERY: Required<EventDeliveryOptions> = {
  mode: 'realistic',
  seed: 1,
  lossRate: 0.05,
  duplicateRate: 0.1,
  backupBatchSeconds: 300,
  lateBatchRate: 0.1,
  maxDelaySeconds: 60,
};

/** What happens to one emitted event. */
export interface DeliveryPlan {
  readonly lost: boolean;
  /** Virtual seconds on the instance's clock when the rule's target receives it. */
  readonly deliverAt: number;
  /** When a second copy arrives (at-least-once), if any. */
  readonly duplicateAt?: number;
}

/** A number in [0, 1) from the parts (the first 52 bits of their SHA-256): deterministic and well spread. */
export function unitHash(...parts: Array<string | number>): number {
  return parseInt(createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 13), 16) / 2 ** 52;
}

export class EventDelivery {
  public readonly options: Required<EventDeliveryOptions>;

  constructor(options: EventDeliveryOptions = {}) {
    this.options = { ...DEFAULT_EVENT_DELIVERY, ...options };
    const o = this.options;
    for (const [name, rate] of [['lossRate', o.lossRate], ['duplicateRate', o.duplicateRate], ['lateBatchRate', o.lateBatchRate]] as const) {
      if (!(rate >= 0 && rate <= 1)) throw new Error(`event delivery: ${name} must be within [0, 1], got ${rate}`);
    }
    if (!(o.backupBatchSeconds > 0) || !(o.maxDelaySeconds >= 1)) {
      throw new Error('event delivery: backupBatchSeconds must be > 0 and maxDelaySeconds >= 1');
    }
  }

  public get ideal(): boolean {
    return this.options.mode === 'ideal';
  }

  /**
   * The fate of the `ordinal`-th event of `kind` about the instance at position `instanceIndex`, emitted at `at`
   * (virtual seconds on the instance's clock).
   */
  public plan(kind: EventKind, instanceIndex: number, ordinal: number, at: number): DeliveryPlan {
    if (this.ideal) return { lost: false, deliverAt: at };
    const o = this.options;
    const u = (salt: string) => unitHash(o.seed, instanceIndex, kind, ordinal, salt);
    if (u('loss') < o.lossRate) return { lost: true, deliverAt: at };
    let deliverAt: number;
    if (kind === 'backup' || kind === 'copy') {
      const batch = o.backupBatchSeconds;
      deliverAt = (Math.floor(at / batch) + 1) * batch + (u('late') < o.lateBatchRate ? batch : 0);
    } else {
      deliverAt = at + 1 + Math.floor(u('delay') * o.maxDelaySeconds);
    }
    const duplicateAt = u('duplicate') < o.duplicateRate ? deliverAt + Math.floor(u('again') * o.maxDelaySeconds) : undefined;
    return { lost: false, deliverAt, ...(duplicateAt !== undefined ? { duplicateAt } : {}) };
  }

  /**
   * When Lambda runs a failed asynchronous invocation again: "by default Lambda attempts to run it two more times, with
   * a one-minute wait between the first two attempts, and two minutes between the second and third attempts". Ideal
   * mode retries at once. Undefined after the third attempt (the event is dropped).
   */
  public retryAt(failedAt: number, attempt: number): number | undefined {
    if (attempt >= 3) return undefined;
    return failedAt + (this.ideal ? 0 : attempt === 1 ? 60 : 120);
  }

  /** The longest a delivered event can take after its change, per kind (the documented bound the stand-in uses). */
  public maxDelay(kind: EventKind): number {
    if (this.ideal) return 0;
    const o = this.options;
    return kind === 'backup' || kind === 'copy' ? 2 * o.backupBatchSeconds : o.maxDelaySeconds;
  }
}
