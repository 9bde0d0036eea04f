/**
 * Per-instance measurements taken from the world's own records (never from the workflow's output): the instance's
 * virtual clock, its downtime and how long it stayed stopped after its backup job ended.
 */
import { isTerminalJob, World } from './world';

export interface InstanceStats {
  /** The instance's clock at the end (virtual seconds since the world was reset; it catches up with the run clock when a top-level Map ends). */
  readonly clockSeconds: number;
  /**
   * Seconds from the start of the instance's clock (its chain's first state) to its end: its chain's duration, or the
   * longest chain of its Map (clocks catch up with the run clock when a top-level Map ends).
   */
  readonly chainSeconds?: number;
  /** Seconds between reaching `stopped` and the next accepted StartInstances, summed (to the end when still stopped). */
  readonly downtimeSeconds?: number;
  /** The instance is still stopped at the end (its downtime runs to the end of its clock). */
  readonly stillStopped?: boolean;
  /**
   * Seconds between the backup job's terminal state and the StartInstances request that followed the stop
   * (negative: started before the job ended). Undefined when the instance was not stopped and started again, or
   * no job ended.
   */
  readonly stoppedBeyondBackupSeconds?: number;
}

/** Stats of every instance that was stopped or has a clock of its own. */
export function instanceStats(world: World): Record<string, InstanceStats> {
  const out: Record<string, InstanceStats> = {};
  for (const inst of world.instanceList) {
    const clockSeconds = world.now(inst.id);
    const started = world.clock.startedAt(inst.id);
    const chain = started !== undefined ? { chainSeconds: clockSeconds - started } : {};
    if (inst.power.length === 0) {
      if (world.clock.hasInstance(inst.id)) out[inst.id] = { clockSeconds, ...chain };
      continue;
    }
    let downtime = 0;
    let stoppedAt: number | undefined;
    let firstStart: number | undefined;
    let firstStopped: number | undefined;
    for (const r of inst.power) {
      if (r.event === 'stopped') {
        stoppedAt = r.at;
        firstStopped ??= r.at;
      } else if (r.event === 'startRequested' && stoppedAt !== undefined) {
        downtime += r.at - stoppedAt;
        firstStart ??= r.at;
        stoppedAt = undefined;
      }
    }
    const stillStopped = stoppedAt !== undefined && inst.state === 'stopped';
    if (stillStopped) downtime += clockSeconds - stoppedAt!;
    let beyond: number | undefined;
    if (firstStart !== undefined && firstStopped !== undefined) {
      const ends = world.backupJobsFor(inst.id)
        .map((j) => j.terminalAt ?? (world.timed && j.behaviour.state !== 'hang' && !isTerminalJob(j.state)
          ? j.startedAt + world.durationsOf(inst.id).backupSeconds : undefined))
        .filter((t): t is number => t !== undefined);
      if (ends.length > 0) beyond = firstStart - Math.max(...ends);
    }
    out[inst.id] = {
      clockSeconds,
      ...chain,
      ...(firstStopped !== undefined ? { downtimeSeconds: downtime } : {}),
      ...(stillStopped ? { stillStopped } : {}),
      ...(beyond !== undefined ? { stoppedBeyondBackupSeconds: beyond } : {}),
    };
  }
  return out;
}
