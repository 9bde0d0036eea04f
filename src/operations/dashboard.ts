import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { instanceMetric, unsuccessfulRuns } from './run-metrics';
import { METRIC_INSTANCE_FROZEN_SECONDS, METRIC_INSTANCE_STOPPED_SECONDS, METRIC_INSTANCES_EXCLUDED, METRIC_INSTANCES_FAILED, METRIC_INSTANCES_SKIPPED, METRIC_INSTANCES_SUCCEEDED } from '../contract/metrics';

/** Runs and instance outcomes of one PrePostScriptBackup, and its alarm. */
export function createDashboard(scope: Construct, stateMachine: sfn.IStateMachine, alarm: cloudwatch.IAlarm): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard');
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({ title: 'Backup runs', alarms: [alarm], width: 6 }),
    new cloudwatch.GraphWidget({
      title: 'Runs',
      width: 9,
      left: [stateMachine.metricSucceeded({ label: 'Succeeded' }), unsuccessfulRuns(stateMachine)],
    }),
    new cloudwatch.GraphWidget({
      title: 'Instances',
      width: 9,
      stacked: true,
      left: [
        instanceMetric(stateMachine, METRIC_INSTANCES_SUCCEEDED, { label: 'Backed up' }),
        instanceMetric(stateMachine, METRIC_INSTANCES_FAILED, { label: 'Failed' }),
        instanceMetric(stateMachine, METRIC_INSTANCES_EXCLUDED, { label: 'Excluded (terminated)' }),
        instanceMetric(stateMachine, METRIC_INSTANCES_SKIPPED, { label: 'Skipped (held by another run)' }),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Longest freeze and downtime of an instance (s)',
      width: 24,
      left: [
        instanceMetric(stateMachine, METRIC_INSTANCE_FROZEN_SECONDS, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Frozen' }),
        instanceMetric(stateMachine, METRIC_INSTANCE_STOPPED_SECONDS, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Stopped' }),
      ],
    }),
  );
  return dashboard;
}
