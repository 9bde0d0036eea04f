/**
 * What a finished run tells the outside world besides its audit record: one readable notification and the
 * per-instance metrics (CloudWatch embedded metric format, printed to the function's log).
 */
// esbuild bundles Powertools into the handler; the construct package never loads it, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { type AuditEntry } from '../../contract/audit-schema';
import { type ExecutionContext } from '../../contract/messages';
import { METRIC_DIMENSION, METRIC_INSTANCE_FROZEN_SECONDS, METRIC_INSTANCE_STOPPED_SECONDS, METRIC_INSTANCES_EXCLUDED, METRIC_INSTANCES_FAILED, METRIC_INSTANCES_SKIPPED, METRIC_INSTANCES_SUCCEEDED, METRICS_NAMESPACE } from '../../contract/metrics';
import { RUN_SUMMARY_MAX_FAILURES, type RunSummaryDetail } from '../../contract/run-summary-event';
import { isFailedOutcome, OUTCOME_SUCCEEDED } from '../../contract/status';
import type { Logger } from '../../lambda-shared/log';

export interface RunCounts {
  readonly succeeded: number;
  readonly failed: number;
  readonly excluded: number;
  /** Instances left to the run holding their lease. */
  readonly skipped: number;
  /** The longest downtime of an instance of the run, in seconds (0 when none was stopped). */
  readonly maxStoppedSeconds: number;
  /** The longest freeze of an application of the run, in seconds (0 when no pre-script ran). */
  readonly maxFrozenSeconds: number;
}

/** `arn:aws:states:<region>:<account>:execution:<state machine>:<name>` → its parts. */
export function parseExecutionArn(arn: string): { region: string; account: string; stateMachineName: string } {
  const parts = arn.split(':');
  return { region: parts[3] ?? '', account: parts[4] ?? '', stateMachineName: parts[6] ?? '' };
}

/** A link to the execution in the Step Functions console. */
export function executionLink(arn: string): string {
  const { region } = parseExecutionArn(arn);
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${arn}`;
}

const MAX_LISTED = 50;
/** SNS accepts 256 KB; a readable message is much shorter. */
const MAX_MESSAGE_CHARS = 16_000;

/**
 * The notification of a finished run: which instances failed, at which step and why, and where to look.
 * The subject is ASCII and at most 100 characters, as SNS requires.
 */
export function runNotification(
  execution: ExecutionContext,
  status: string,
  failureMessage: string,
  entries: AuditEntry[],
  tableName: string,
): { subject: string; message: string } {
  // Instances skipped because another run held their lease are not failures.
  const failed = entries.filter(e => isFailedOutcome(e.Outcome));
  const subject = `Backup run ${status}: ${failed.length} of ${entries.length} instances failed`.slice(0, 100);
  const lines = [`Pre/post-script backup run ${execution.name} ${status}.`];
  if (failureMessage) {
    lines.push(`Reason: ${failureMessage}`);
  }
  lines.push('');
  for (const entry of failed.slice(0, MAX_LISTED)) {
    lines.push(`- ${entry.InstanceId}: ${entry.FailureMessage || 'failed'}`);
    lines.push(`  pre ${entry.PreBackupScriptStatus} | stop ${entry.StopEc2InstanceStatus} | backup ${entry.BackupJobStatus}`
      + ` | start ${entry.StartEc2InstanceStatus} | post ${entry.PostBackupScriptStatus}`);
  }
  if (failed.length > MAX_LISTED) {
    lines.push(`... and ${failed.length - MAX_LISTED} more failed instances (see the audit record).`);
  }
  lines.push(
    '',
    `Execution: ${executionLink(execution.id)}`,
    `Audit record: table ${tableName}, SM_Execution_ID = ${execution.id}`,
  );
  return { subject: subject.replace(/[^\x20-\x7e]/g, '?'), message: lines.join('\n').slice(0, MAX_MESSAGE_CHARS) };
}

/**
 * The run's per-instance counts as Powertools Metrics (embedded metric format): namespace METRICS_NAMESPACE, the one
 * dimension METRIC_DIMENSION (Powertools' default `service` dimension is cleared: the construct's metric methods and
 * dashboards read the metrics by that one dimension), one data point per metric, at `now`. Powertools' own warnings
 * go to `log`.
 */
export function runMetrics(stateMachineName: string, counts: RunCounts, now: Date, log?: Pick<Logger, 'warn' | 'error' | 'info' | 'debug'>): Metrics {
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    ...(log ? { logger: toGenericLogger(log) } : {}),
  });
  metrics.clearDefaultDimensions();
  metrics.addDimension(METRIC_DIMENSION, stateMachineName);
  metrics.addMetric(METRIC_INSTANCES_SUCCEEDED, MetricUnit.Count, counts.succeeded);
  metrics.addMetric(METRIC_INSTANCES_FAILED, MetricUnit.Count, counts.failed);
  metrics.addMetric(METRIC_INSTANCES_EXCLUDED, MetricUnit.Count, counts.excluded);
  metrics.addMetric(METRIC_INSTANCES_SKIPPED, MetricUnit.Count, counts.skipped);
  metrics.addMetric(METRIC_INSTANCE_STOPPED_SECONDS, MetricUnit.Seconds, counts.maxStoppedSeconds);
  metrics.addMetric(METRIC_INSTANCE_FROZEN_SECONDS, MetricUnit.Seconds, counts.maxFrozenSeconds);
  metrics.setTimestamp(now);
  return metrics;
}

/** The run's per-instance counts as one CloudWatch embedded-metric-format log record (what runMetrics publishes). */
export function metricsRecord(stateMachineName: string, counts: RunCounts, now: Date): Record<string, unknown> {
  return runMetrics(stateMachineName, counts, now, QUIET).serializeMetrics() as unknown as Record<string, unknown>;
}

/** Powertools' own messages (a warning about the timestamp) through the handler's logger. */
function toGenericLogger(log: Pick<Logger, 'warn' | 'error' | 'info' | 'debug'>) {
  return {
    warn: (m: string) => log.warn(m),
    error: (m: string) => log.error(m),
    info: (m: string) => log.info(m),
    debug: (m: string) => log.debug(m),
  };
}

/** For metricsRecord: the record is only read, so Powertools' warnings (an old timestamp) are not printed. */
const QUIET = { warn: () => {}, error: () => {}, info: () => {}, debug: () => {} };

export interface RunFacts {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly endTime: string;
  readonly excludedCount: number;
  readonly message: string;
}

/** The run summary the workflow forwards to a central bus (the contract of src/contract/run-summary-event.ts). */
export function runSummary(execution: ExecutionContext, facts: RunFacts, entries: AuditEntry[]): RunSummaryDetail {
  const { region, account } = parseExecutionArn(execution.id);
  const failed = entries.filter(e => isFailedOutcome(e.Outcome));
  const succeeded = entries.filter(e => e.Outcome === OUTCOME_SUCCEEDED);
  return {
    executionArn: execution.id,
    account,
    region,
    status: facts.status,
    startTime: execution.startTime,
    endTime: facts.endTime,
    instanceCount: entries.length,
    succeededCount: succeeded.length,
    failedCount: failed.length,
    excludedCount: facts.excludedCount,
    failures: failed.slice(0, RUN_SUMMARY_MAX_FAILURES).map(e => ({
      instanceId: e.InstanceId,
      failureMessage: e.FailureMessage ?? '',
      preBackupScriptStatus: e.PreBackupScriptStatus ?? '',
      stopEc2InstanceStatus: e.StopEc2InstanceStatus ?? '',
      backupJobStatus: e.BackupJobStatus ?? '',
      startEc2InstanceStatus: e.StartEc2InstanceStatus ?? '',
      postBackupScriptStatus: e.PostBackupScriptStatus ?? '',
    })),
    failuresTruncated: failed.length > RUN_SUMMARY_MAX_FAILURES,
    message: facts.message ?? '',
  };
}
