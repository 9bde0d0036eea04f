/**
 * Metric names: what the handlers publish (embedded metric format) and what the constructs' metric methods, alarms
 * and dashboards read. One name, one meaning, on both sides.
 */
/** The CloudWatch namespace of the workflow's own metrics. */
export const METRICS_NAMESPACE = 'PrePostScriptBackup';
/** Metric names, one per instance outcome. */
export const METRIC_INSTANCES_SUCCEEDED = 'InstancesSucceeded';
export const METRIC_INSTANCES_FAILED = 'InstancesFailed';
export const METRIC_INSTANCES_EXCLUDED = 'InstancesExcluded';
export const METRIC_INSTANCES_SKIPPED = 'InstancesSkipped';
/** The longest time an instance of the run stayed stopped (seconds). */
export const METRIC_INSTANCE_STOPPED_SECONDS = 'InstanceStoppedSeconds';
/** The longest time an application of the run stayed frozen (seconds, the audit entries' FrozenSeconds). */
export const METRIC_INSTANCE_FROZEN_SECONDS = 'InstanceFrozenSeconds';
/** The dimension that tells one construct's runs from another's. */
export const METRIC_DIMENSION = 'StateMachineName';

// The central audit construct's metrics (one data point per run summary it receives).
/** The CloudWatch namespace of the central construct's metrics. */
export const CENTRAL_METRICS_NAMESPACE = 'PrePostScriptBackup/Organization';
/** The dimension that tells one central construct's metrics from another's: its event bus name. */
export const CENTRAL_METRIC_DIMENSION = 'CentralEventBus';
/** 1 for a failed run, 0 for a succeeded one. */
export const METRIC_RUNS_FAILED = 'RunsFailed';
/** 1 for a succeeded run, 0 for a failed one. */
export const METRIC_RUNS_SUCCEEDED = 'RunsSucceeded';
