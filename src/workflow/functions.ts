import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * The Lambda functions the workflow calls, one job each (see src/functions).
 */
export interface WorkflowFunctions {
  readonly validateInput: lambda.IFunction;
  /** Takes and gives back an instance's lease (src/contract/lease.ts). */
  readonly acquireLease: lambda.IFunction;
  readonly releaseLease: lambda.IFunction;
  readonly discoverInstances: lambda.IFunction;
  readonly checkAgent: lambda.IFunction;
  readonly sendScript: lambda.IFunction;
  /** Only when the waits are polled (the polling handlers' look). */
  readonly getScriptStatus?: lambda.IFunction;
  readonly stopInstance: lambda.IFunction;
  readonly startInstance: lambda.IFunction;
  readonly startBackupJob: lambda.IFunction;
  /** Only when the waits are polled. */
  readonly describeBackupJob?: lambda.IFunction;
  /** Looks at the backup's point in time while the application is frozen, and verifies it at the job's end (issue 14). */
  readonly observeRelease: lambda.IFunction;
  /** Only with FreezeBudgetAction.STOP_BACKUP_JOB: stops the job when the freeze budget is spent. */
  readonly stopBackupJob?: lambda.IFunction;
  /** Only when recovery points are copied to another vault. */
  readonly startCopyJob?: lambda.IFunction;
  /** Only when recovery points are copied and the waits are polled. */
  readonly describeCopyJob?: lambda.IFunction;
  readonly recordInstance: lambda.IFunction;
  /** Makes sure every instance of a page has its audit entry and adds the page to the run's tally. */
  readonly recordPage: lambda.IFunction;
  readonly recordRun: lambda.IFunction;
  /** After a page's Map: the instances whose chain ended without its audit entry (docs/workflow.md). */
  readonly findUnfinished: lambda.IFunction;
  /** The first step of an instance's recovery: what its journal and AWS show, and what it still needs. */
  readonly inspectChain: lambda.IFunction;
  /** The audit entry of a recovered instance. */
  readonly recordRecovered: lambda.IFunction;
  /**
   * Issue 15: a dry run's check of one instance (src/workflow/dry-run.ts). Required: a workflow without it would run a
   * `DryRun: true` input as a real backup.
   */
  readonly preflightInstance: lambda.IFunction;
}
