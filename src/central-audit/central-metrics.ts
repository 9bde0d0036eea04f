import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** The CloudWatch namespace of the central construct's metrics (one data point per run summary received). */
export const CENTRAL_METRICS_NAMESPACE = 'PrePostScriptBackup/Organization';
/** The dimension that tells one central construct's metrics from another's: its event bus name. */
export const CENTRAL_METRIC_DIMENSION = 'CentralEventBus';
/** 1 for a failed run, 0 for a succeeded one. */
export const METRIC_RUNS_FAILED = 'RunsFailed';
/** 1 for a succeeded run, 0 for a failed one. */
export const METRIC_RUNS_SUCCEEDED = 'RunsSucceeded';
export const METRIC_INSTANCES_SUCCEEDED = 'InstancesSucceeded';
export const METRIC_INSTANCES_FAILED = 'InstancesFailed';
export const METRIC_INSTANCES_EXCLUDED = 'InstancesExcluded';

/** One of the central metrics, summed over 5 minutes unless `props` says otherwise. */
export function centralMetric(busName: string, metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: CENTRAL_METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [CENTRAL_METRIC_DIMENSION]: busName },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    ...props,
  });
}
