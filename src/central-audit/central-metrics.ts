import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { CENTRAL_METRIC_DIMENSION, CENTRAL_METRICS_NAMESPACE } from '../contract/metrics';


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
