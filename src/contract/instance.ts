/**
 * An instance as the run sees it: discovered (or left out), its chain's step results, its outcome, and the run's
 * tally of outcomes. Shared by the workflow, which carries them, and the handlers that record them.
 */
import type {
  BackupJobResult, CheckAgentResult, ConsistencyVerdict, CopyJobResult, InstancePowerResult, PreflightResult, ReleaseLoopState,
  ScriptStatusResult, StopBackupJobResult,
} from './messages';
import type { ScriptPlatform } from './settings';
export interface DiscoveredInstance {
  readonly instanceId: string;
  /** EC2 state name at discovery: running, stopped, pending, stopping. */
  readonly state: string;
  readonly platform: ScriptPlatform;
  /** SSM PingStatus (Online, ConnectionLost, Inactive) or `NotManaged` when SSM does not know the instance. */
  readonly ssmPingStatus: string;
}

export interface ExcludedInstance {
  readonly instanceId: string;
  readonly state: string;
  readonly reason: string;
}

/**
 * What the run has recorded so far, page after page: counts and bounded samples only, so its size does not
 * grow with the fleet. record-page adds each page to it; record-run turns it into the run's record.
 */
export interface RunTally {
  /** Pages recorded. */
  readonly pages: number;
  /** Instances worked on (each has its audit entry in the table). */
  readonly instanceCount: number;
  readonly succeededCount: number;
  readonly failedCount: number;
  /** Instances skipped because another run held their lease. */
  readonly skippedCount: number;
  /** The longest time an instance of the run stayed stopped, in seconds. */
  readonly maxStoppedSeconds: number;
  /** The longest time an application of the run stayed frozen (FrozenSeconds), in seconds. */
  readonly maxFrozenSeconds: number;
  /** Tagged instances left out (terminated, shutting-down). */
  readonly excludedCount: number;
  /** The first excluded instances, at most EXCLUDED_SAMPLE_SIZE (src/lambda-shared/audit-batch.ts). */
  readonly excludedSample: ExcludedInstance[];
}

/**
 * What one instance's chain produced: the raw result of each step it reached, as the workflow stored them.
 * A step's key is absent when the step was never reached.
 */
export interface InstanceSteps {
  /**
   * Set when the instance was not eligible at all (transitional state, agent offline, platform mismatch), or
   * `SkippedLeaseHeld` when another run holds its lease.
   */
  readonly eligibility?: StepOutcome;
  readonly agent?: CheckAgentResult | StepOutcome;
  readonly pre?: ScriptStatusResult | StepOutcome;
  readonly stop?: InstancePowerResult | StepOutcome;
  readonly backup?: BackupJobResult | StepOutcome;
  readonly start?: InstancePowerResult | StepOutcome;
  readonly agentAfterStart?: CheckAgentResult | StepOutcome;
  readonly post?: ScriptStatusResult | StepOutcome;
  /** The copy of the recovery point to another vault, when one is configured. */
  readonly copy?: CopyJobResult | StepOutcome;
  /** The release loop's last state (src/workflow/release.ts): when and why the application was released. */
  readonly release?: ReleaseLoopState;
  /** The freeze budget spent with FreezeBudgetAction.STOP_BACKUP_JOB: what StopBackupJob did. */
  readonly budgetStop?: StopBackupJobResult;
  /** At the job's end: whether the recovery point was taken while the application was frozen. */
  readonly consistency?: ConsistencyVerdict;
  /** Issue 15, a dry run: the pre-flight checks' result (src/workflow/dry-run.ts); no other step runs. */
  readonly preflight?: PreflightResult;
  /** Issue 15: the pre-script's attempts (the workflow counts them; `pre` holds the last attempt's result). */
  readonly preAttempts?: ScriptAttempts;
  /** Issue 15: the post-script's attempts. */
  readonly postAttempts?: ScriptAttempts;
  /**
   * Errors caught by the workflow, per step (Step Functions' `{ Error, Cause }`). `leaseRelease` is not a step:
   * a lease that could not be released is noted (it expires by itself), never a failure; nor are `release` (a release
   * look that kept failing: the application was released, noted) and `consistency` (the check at the job's end could
   * not run: the entry says the consistency was not verified). `budgetStop` fails the instance (the job was to be stopped).
   */
  readonly errors?: Partial<Record<StepName | 'leaseRelease' | 'release' | 'consistency' | 'budgetStop' | 'preflight', CaughtError>>;
}

export type StepName = 'eligibility' | 'agent' | 'pre' | 'stop' | 'backup' | 'start' | 'agentAfterStart' | 'post' | 'copy';

/**
 * Issue 15: the attempts of one script, kept by the workflow (src/workflow/steps.ts): `count` attempts begun, and one
 * `attempt <n>: command <id> <status> (<details>, exit <code>); ` per failed attempt that was tried again.
 */
export interface ScriptAttempts {
  readonly count: number;
  readonly failed: string;
}

/** A step result the workflow sets itself (turned off, not applicable). */
export interface StepOutcome {
  readonly status: string;
  readonly message?: string;
}

export interface CaughtError {
  readonly Error: string;
  readonly Cause?: string;
}

/** The Map iteration's output: small, so a large fleet's results fit in the execution's state. */
export interface InstanceOutcome {
  readonly instanceId: string;
  readonly succeeded: boolean;
  /** True when the instance was skipped (another run held its lease): neither succeeded nor failed. */
  readonly skipped?: boolean;
  /**
   * False when record-instance could not write the entry: its raw results are then in the instance's item
   * (`stepsInTable`) or, when even that write failed, in `steps`. record-page writes the entry from them.
   */
  readonly recorded: boolean;
  /** True when the raw results of an unrecorded chain are in the instance's item (see UNRECORDED_STEPS). */
  readonly stepsInTable?: boolean;
  readonly steps?: InstanceSteps;
  readonly instance?: DiscoveredInstance;
}

/**
 * A failed child execution's entry in the distributed Map's results: its execution's metadata (Step Functions returns a
 * failed child's result as with `Transformation: NONE`). Only what the recovery reads.
 */
export interface FailedChildEntry {
  readonly Status: string;
  /** The child's input, as a JSON string (an instance chain's input holds `instance`). */
  readonly Input?: string;
  readonly Error?: string;
  readonly Cause?: string;
}

/** An instance whose chain ended without its audit entry, and why, as far as the Map tells. */
export interface UnfinishedInstance {
  readonly instance: DiscoveredInstance;
  /** The child execution's error (`{}` when the Map did not say: then the Map's error, or unknown). */
  readonly error: CaughtError | Record<string, never>;
}
