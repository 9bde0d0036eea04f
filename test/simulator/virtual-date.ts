/**
 * The handlers' clock in the simulator. On AWS a Lambda reads the same clock as the services it calls (to within
 * seconds); in the simulator the services' stand-ins live on virtual time (hours pass in seconds), so a handler
 * reading the wall clock would stamp its records (a journal intent, a lease expiry, a release time, a stop observed)
 * on a different clock from the stand-ins' (a job's CreationDate, a snapshot's StartTime, an invocation's end) and
 * every difference between the two would be fiction. While a handler runs, `Date.now()` and `new Date()` read the
 * virtual time of the instance it works on (or of the run), set by `withVirtualNow`; outside a handler they read the
 * wall clock as before.
 *
 * Two realms: the tests' (jest's sandbox) and the real Node context, where the bundled handlers and the AWS SDK are
 * compiled (test/simulator/lambda.ts). Both get the replacement, once; both read one AsyncLocalStorage (the async
 * context is the process's, whatever the realm).
 */
import { AsyncLocalStorage } from 'async_hooks';
import * as nodeModule from 'module';
import * as path from 'path';

const NodeModule = (nodeModule as any).Module as any;

/** The global object of the real Node context (where the handlers run). */
const realGlobal: any = (() => {
  const m = new NodeModule(path.join(__dirname, '__real_global__.js'), null);
  m._compile('module.exports = globalThis;', m.id);
  return m.exports;
})();

/** A virtual clock: it read `atMs` at wall time `sinceMs`, and moves on with the wall clock, by at most `maxDriftMs`. */
interface VirtualNow {
  readonly atMs: number;
  readonly sinceMs: number;
  readonly maxDriftMs: number;
}

const store: AsyncLocalStorage<VirtualNow> = realGlobal.__simulatorVirtualNow ?? new AsyncLocalStorage();
realGlobal.__simulatorVirtualNow = store;

/** The wall clock, for the simulator's own measures (a Lambda's remaining time, how long a simulation took). */
export const RealDate: DateConstructor = (globalThis as any).__simulatorRealDate ?? Date;

function offset(): number {
  const clock = store.getStore();
  if (!clock) return 0;
  const realNow = RealDate.now();
  return clock.atMs + Math.min(realNow - clock.sinceMs, clock.maxDriftMs) - realNow;
}

/** Replaces `g.Date` (once per realm): only the argument-less forms read the virtual clock. */
function patch(g: any): void {
  if (g.__simulatorRealDate) return;
  const Base: DateConstructor = g.Date;
  class VirtualDate extends Base {
    public static now(): number {
      return Base.now() + offset();
    }
    constructor(...args: any[]) {
      if (args.length === 0) super(Base.now() + offset());
      else super(...(args as [any]));
    }
  }
  g.__simulatorRealDate = Base;
  g.Date = VirtualDate;
}

/**
 * A virtual origin on a whole second: an ISO timestamp truncated to the second (ListCommandInvocations' InvokedAfter
 * filter, say) taken a few milliseconds after virtual time t then never falls after what happened at t.
 */
export function wholeSecondNow(): number {
  return Math.floor(RealDate.now() / 1000) * 1000;
}

/** Installs the virtual clock in both realms (idempotent). */
export function installVirtualDate(): void {
  patch(globalThis);
  patch(realGlobal);
}

/**
 * Runs `fn` with the clock reading `at` (then moving on with the wall clock, by at most `maxDriftMs`): a handler
 * invocation, or the local Step Functions execution (whose `$$.Execution.StartTime` is the library's `new Date()`).
 * What `fn` starts asynchronously inherits the clock, unless it sets its own.
 *
 * A handler's clock is bounded (`HANDLER_DRIFT_MS`): the stand-ins' clocks stand still while it runs, and the wall
 * time it takes here is mostly the simulator's (thousands of chains' calls queued in one process), not the handler's.
 * Unbounded, a handler of a whole-fleet simulation queued for minutes stamped its records, and signed its requests
 * (which the throttling stand-ins read as the caller's time), minutes after the virtual time it works at.
 */
export function withVirtualNow<T>(at: Date, fn: () => T, maxDriftMs: number = Number.POSITIVE_INFINITY): T {
  return store.run({ atMs: at.getTime(), sinceMs: RealDate.now(), maxDriftMs }, fn);
}

/** The most a handler's clock moves on with the wall clock: about what one of ours takes on AWS (a few calls). */
export const HANDLER_DRIFT_MS = 2000;
