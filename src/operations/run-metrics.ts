import { Arn, ArnFormat, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { METRIC_DIMENSION, METRICS_NAMESPACE } from '../contract/metrics';

/** A per-instance outcome metric the record-run handler emits (embedded metric format) for one state machine. */
export function instanceMetric(stateMachine: sfn.IStateMachine, metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [METRIC_DIMENSION]: stateMachineName(stateMachine) },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    ...props,
  });
}

/** Runs that did not succeed: failed, timed out or aborted. */
export function unsuccessfulRuns(stateMachine: sfn.IStateMachine, props?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'failed + timedOut + aborted',
    usingMetrics: {
      failed: stateMachine.metricFailed(),
      timedOut: stateMachine.metricTimedOut(),
      aborted: stateMachine.metricAborted(),
    },
    label: 'Runs failed, timed out or aborted',
    period: Duration.minutes(5),
    ...props,
  });
}

/** The name in `arn:<partition>:states:<region>:<account>:stateMachine:<name>`, as the handler reads it. */
function stateMachineName(stateMachine: sfn.IStateMachine): string {
  return Arn.split(stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName!;
}
