/**
 * Virtual time. The run has one clock (the top level's Wait states, Retry back-offs and token waits) and every
 * instance has its own (the Map iteration working on it: its Waits, back-offs and token waits). Nothing here reads
 * the wall clock: time only moves when the simulator advances it.
 */
import { wholeSecondNow } from './virtual-date';

export class Clocks {
  private run = 0;
  private readonly instances = new Map<string, number>();
  /** When each instance's clock started (its first iteration): its chain's duration is now − start. */
  private readonly starts = new Map<string, number>();
  /** Wall-clock origin for timestamps derived from virtual time (event `time`, ...). */
  public origin = wholeSecondNow();

  /** Seconds on the run clock. */
  public get runSeconds(): number {
    return this.run;
  }

  public advanceRun(seconds: number): void {
    if (!(seconds >= 0)) throw new Error(`cannot advance the run clock by ${seconds}`);
    this.run += seconds;
  }

  /** Set the run clock forward to `seconds` (never backwards). */
  public runAtLeast(seconds: number): void {
    this.run = Math.max(this.run, seconds);
  }

  /** Seconds on an instance's clock: its own when it has one, else the run clock. */
  public now(instanceId: string | undefined): number {
    return instanceId !== undefined ? this.instances.get(instanceId) ?? this.run : this.run;
  }

  public hasInstance(instanceId: string): boolean {
    return this.instances.has(instanceId);
  }

  /** An iteration starts working on the instance: its clock starts at the run clock (or goes on). */
  public startInstance(instanceId: string): void {
    this.instances.set(instanceId, Math.max(this.instances.get(instanceId) ?? 0, this.run));
    if (!this.starts.has(instanceId)) this.starts.set(instanceId, this.instances.get(instanceId)!);
  }

  /** Seconds on the run clock when the instance's clock started; undefined when it has none. */
  public startedAt(instanceId: string): number | undefined {
    return this.starts.get(instanceId);
  }

  public advance(instanceId: string | undefined, seconds: number): void {
    if (!(seconds >= 0)) throw new Error(`cannot advance ${instanceId ?? 'the run'} clock by ${seconds}`);
    if (instanceId === undefined || !this.instances.has(instanceId)) this.run += seconds;
    else this.instances.set(instanceId, this.instances.get(instanceId)! + seconds);
  }

  /** A Date for a virtual time (for timestamps only). */
  public dateAt(seconds: number): Date {
    return new Date(this.origin + Math.round(seconds * 1000));
  }

  public reset(): void {
    this.run = 0;
    this.instances.clear();
    this.starts.clear();
    this.origin = wholeSecondNow();
  }
}
