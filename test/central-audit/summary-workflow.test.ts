/**
 * The central EXPRESS state machine, run locally: the synthesized definition in aws-local-stepfunctions, its
 * DynamoDB PutItem against dynalite (a table created from the template, so a malformed item fails as DynamoDB
 * would), and PutMetricData and SNS Publish captured. The input is the run summary event as EventBridge delivers it.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { CENTRAL_METRICS_NAMESPACE } from '../../src/contract/metrics';
import { centralStack, executionArn, failure, MEMBER_ACCOUNT, summaryDetail, summaryEvent } from '../helpers/central';
import { Simulator } from '../simulator/simulator';

interface Captured {
  metrics: any[];
  notifications: { Subject: string; Message: string; TopicArn: string }[];
}

async function simulator(options: { notifications?: boolean; failing?: string[] } = {}): Promise<{ sim: Simulator; captured: Captured }> {
  const { stack } = centralStack({ enableNotifications: options.notifications ?? true, eventBusName: 'runs' });
  const captured: Captured = { metrics: [], notifications: [] };
  const failing = new Set(options.failing ?? []);
  const failure_ = (state: string) => {
    const e = new Error(`${state} is unavailable`);
    e.name = 'ServiceUnavailable';
    throw e;
  };
  const taskHandlers: Record<string, (input: any) => unknown> = {
    'Publish metrics': (input) => failing.has('metrics') ? failure_('CloudWatch') : void captured.metrics.push(input),
    'Notify': (input) => failing.has('notify') ? failure_('SNS') : void captured.notifications.push(input),
  };
  if (failing.has('record')) {
    taskHandlers['Record summary'] = () => failure_('DynamoDB');
  }
  const template = Template.fromStack(stack).toJSON();
  if (!(options.notifications ?? true)) delete taskHandlers.Notify;
  const sim = await Simulator.start({ template, taskHandlers });
  return { sim, captured };
}

const metricValues = (captured: Captured) => Object.fromEntries(
  captured.metrics.flatMap(m => m.MetricData).map((d: any) => [d.MetricName, d.Value]),
);

describe('an accepted summary', () => {
  let sim: Simulator;
  let captured: Captured;
  beforeEach(async () => ({ sim, captured } = await simulator()));
  afterEach(async () => sim.stop());

  test('a succeeded run is recorded, counted and not notified', async () => {
    const r = await sim.run(summaryEvent());
    expect(r.status).toBe('SUCCEEDED');
    expect(await sim.getAuditItem(executionArn())).toEqual({
      SM_Execution_ID: executionArn(),
      Account: MEMBER_ACCOUNT,
      Region: 'eu-west-1',
      Run_Status: 'SUCCEEDED',
      StartTime: '2025-01-15T02:00:00.000Z',
      EndTime: '2025-01-15T02:41:07.000Z',
      InstanceCount: 4,
      SucceededCount: 4,
      FailedCount: 0,
      ExcludedCount: 0,
      Failures: [],
      FailuresTruncated: false,
      Run_FailureMessage: '',
      SummaryEventId: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
      SummaryTime: '2025-01-15T02:41:08Z',
    });
    expect(captured.metrics).toHaveLength(1);
    expect(captured.metrics[0].Namespace).toBe(CENTRAL_METRICS_NAMESPACE);
    expect(captured.metrics[0].MetricData.every((d: any) => d.Dimensions[0].Value === 'runs' && d.Unit === 'Count')).toBe(true);
    expect(metricValues(captured)).toEqual({ RunsFailed: 0, RunsSucceeded: 1, InstancesSucceeded: 4, InstancesFailed: 0, InstancesExcluded: 0 });
    expect(captured.notifications).toEqual([]);
  });

  test('a failed run is recorded with every failed instance\'s steps, counted, and notified readably', async () => {
    const detail = summaryDetail({
      status: 'FAILED',
      succeededCount: 1,
      failedCount: 2,
      excludedCount: 1,
      failures: [
        failure('i-0aaaaaaaaaaaaaaa1'),
        failure('i-0aaaaaaaaaaaaaaa2', {
          failureMessage: 'BackupJob: EXPIRED',
          preBackupScriptStatus: 'Success',
          stopEc2InstanceStatus: 'Success',
          backupJobStatus: 'EXPIRED',
          startEc2InstanceStatus: 'Success',
        }),
      ],
      message: '2 of 3 instances failed',
    });
    const r = await sim.run(summaryEvent(detail));
    expect(r.status).toBe('SUCCEEDED');
    const item = await sim.getAuditItem(executionArn());
    expect(item).toMatchObject({ Run_Status: 'FAILED', FailedCount: 2, ExcludedCount: 1, Run_FailureMessage: '2 of 3 instances failed' });
    expect(item!.Failures).toEqual([
      {
        InstanceId: 'i-0aaaaaaaaaaaaaaa1',
        FailureMessage: 'PreBackupScript: Failed (exit code 1): fsfreeze: /data: Device or resource busy',
        PreBackupScriptStatus: 'Failed',
        StopEc2InstanceStatus: 'NotRun: earlier step failed',
        BackupJobStatus: 'NotRun: earlier step failed',
        StartEc2InstanceStatus: 'NotRun: earlier step failed',
        PostBackupScriptStatus: 'Success',
      },
      expect.objectContaining({ InstanceId: 'i-0aaaaaaaaaaaaaaa2', BackupJobStatus: 'EXPIRED', FailureMessage: 'BackupJob: EXPIRED' }),
    ]);
    expect(metricValues(captured)).toEqual({ RunsFailed: 1, RunsSucceeded: 0, InstancesSucceeded: 1, InstancesFailed: 2, InstancesExcluded: 1 });

    expect(captured.notifications).toHaveLength(1);
    const { Subject, Message, TopicArn } = captured.notifications[0];
    expect(TopicArn).toMatch(/^arn:aws:sns:/);
    expect(Subject).toBe('Backup run FAILED: account 111122223333, eu-west-1, 2 of 4 instances');
    expect(Subject.length).toBeLessThanOrEqual(100);
    expect(Message).toBe([
      'Pre/post-script backup run FAILED in account 111122223333, Region eu-west-1.',
      '2 of 4 instances failed, 1 excluded.',
      'Reason: 2 of 3 instances failed',
      '',
      'Failed instances:',
      '- i-0aaaaaaaaaaaaaaa1: PreBackupScript: Failed (exit code 1): fsfreeze: /data: Device or resource busy '
        + '(pre Failed | stop NotRun: earlier step failed | backup NotRun: earlier step failed | start NotRun: earlier step failed | post Success)',
      '- i-0aaaaaaaaaaaaaaa2: BackupJob: EXPIRED (pre Success | stop Success | backup EXPIRED | start Success | post Success)',
      '',
      `Execution: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${executionArn()}`,
      `Central record: SM_Execution_ID = ${executionArn()}`,
    ].join('\n'));
  });

  test('a truncated list of 50 failures is recorded whole and the message says it is truncated', async () => {
    const failures = Array.from({ length: 50 }, (_, i) => failure(`i-${i.toString(16).padStart(17, '0')}`));
    const r = await sim.run(summaryEvent(summaryDetail({
      status: 'FAILED', instanceCount: 80, succeededCount: 0, failedCount: 80, failures, failuresTruncated: true, message: '80 of 80 instances failed',
    })));
    expect(r.status).toBe('SUCCEEDED');
    const item = await sim.getAuditItem(executionArn());
    expect(item!.Failures).toHaveLength(50);
    expect(item!.FailuresTruncated).toBe(true);
    const lines = captured.notifications[0].Message.split('\n');
    expect(lines.filter(l => l.startsWith('- i-'))).toHaveLength(50);
    expect(lines).toContain('- ... and more: the list is truncated; the account\'s own audit table has every instance.');
  });

  test('a failed run without instances (its input was rejected) is recorded and notified with its reason', async () => {
    const r = await sim.run(summaryEvent(summaryDetail({
      status: 'FAILED', instanceCount: 0, succeededCount: 0, message: 'Input rejected: TargetEC2TagKey is not the configured tag key',
    })));
    expect(r.status).toBe('SUCCEEDED');
    expect(await sim.getAuditItem(executionArn())).toMatchObject({ Run_Status: 'FAILED', Failures: [] });
    expect(captured.notifications[0].Message).toContain('Reason: Input rejected: TargetEC2TagKey is not the configured tag key\n\nFailed instances:\n\nExecution:');
  });

  test('the same summary delivered twice leaves one record', async () => {
    await sim.run(summaryEvent());
    await sim.run(summaryEvent());
    expect(await sim.getAuditItem(executionArn())).toMatchObject({ Run_Status: 'SUCCEEDED' });
  });
});

describe('a rejected summary is not recorded, counted or notified, and fails the execution', () => {
  let sim: Simulator;
  let captured: Captured;
  beforeAll(async () => ({ sim, captured } = await simulator()));
  afterAll(async () => sim.stop());
  afterEach(() => {
    expect(captured.metrics).toEqual([]);
    expect(captured.notifications).toEqual([]);
  });

  const rejected = async (event: Record<string, unknown>, arn = executionArn()) => {
    const r = await sim.run(event);
    expect(r.status).toBe('FAILED');
    expect(await sim.getAuditItem(arn)).toBeUndefined();
    return r;
  };

  test('a member that claims another account\'s run, in the detail or in the execution ARN', async () => {
    const other = '444455556666';
    const r = await rejected(summaryEvent(summaryDetail({ account: other, executionArn: executionArn(other) }), MEMBER_ACCOUNT), executionArn(other));
    expect(r.error).toBe('RunSummaryRejected');
    await rejected(summaryEvent(summaryDetail({ executionArn: executionArn(other) })), executionArn(other));
    await rejected(summaryEvent(summaryDetail({ account: other })));
  });

  test('an unknown status, a missing or mistyped field, too many failures', async () => {
    await rejected(summaryEvent(summaryDetail({ status: 'RUNNING' as any })));
    const { message: _dropped, ...noMessage } = summaryDetail();
    await rejected(summaryEvent(noMessage));
    await rejected(summaryEvent(summaryDetail({ instanceCount: '4' as any })));
    await rejected(summaryEvent(summaryDetail({ failuresTruncated: 'false' as any })));
    const many = Array.from({ length: 51 }, (_, i) => failure(`i-${i.toString(16).padStart(17, '0')}`));
    const r = await rejected(summaryEvent(summaryDetail({ status: 'FAILED', failures: many })));
    expect(r.error).toBe('RunSummaryRejected');
  });

  test('no failures list or a malformed execution ARN: the execution fails', async () => {
    const { failures: _dropped, ...noFailures } = summaryDetail();
    const r = await rejected(summaryEvent(noFailures));
    expect(r.status).toBe('FAILED');
    await rejected(summaryEvent(summaryDetail({ executionArn: 'run-1' })), 'run-1');
  });
});

describe('one step failing does not skip the others; the execution then fails', () => {
  const failedRun = () => summaryEvent(summaryDetail({ status: 'FAILED', failedCount: 1, succeededCount: 3, failures: [failure('i-0aaaaaaaaaaaaaaa1')], message: '1 of 4 instances failed' }));

  test('the record fails: metrics and the notification still go out', async () => {
    const { sim, captured } = await simulator({ failing: ['record'] });
    try {
      const r = await sim.run(failedRun());
      expect(r).toMatchObject({ status: 'FAILED', error: 'RunSummaryNotProcessed' });
      expect(metricValues(captured).RunsFailed).toBe(1);
      expect(captured.notifications).toHaveLength(1);
    } finally {
      await sim.stop();
    }
  });

  test('the metrics fail: the record is written and the notification goes out', async () => {
    const { sim, captured } = await simulator({ failing: ['metrics'] });
    try {
      const r = await sim.run(failedRun());
      expect(r).toMatchObject({ status: 'FAILED', error: 'RunSummaryNotProcessed' });
      expect(await sim.getAuditItem(executionArn())).toMatchObject({ Run_Status: 'FAILED' });
      expect(captured.notifications).toHaveLength(1);
    } finally {
      await sim.stop();
    }
  });

  test('the notification fails: the record and metrics are there', async () => {
    const { sim, captured } = await simulator({ failing: ['notify'] });
    try {
      const r = await sim.run(failedRun());
      expect(r).toMatchObject({ status: 'FAILED', error: 'RunSummaryNotProcessed' });
      expect(await sim.getAuditItem(executionArn())).toMatchObject({ Run_Status: 'FAILED' });
      expect(metricValues(captured).RunsFailed).toBe(1);
    } finally {
      await sim.stop();
    }
  });
});

test('without notifications the definition has no SNS task, and a failed run is recorded and counted', async () => {
  const { sim, captured } = await simulator({ notifications: false });
  try {
    const states = JSON.stringify(sim.stateMachine.definition);
    expect(states).not.toMatch(/sns:publish/);
    const r = await sim.run(summaryEvent(summaryDetail({ status: 'FAILED', failedCount: 1, succeededCount: 3, failures: [failure('i-1')] })));
    expect(r.status).toBe('SUCCEEDED');
    expect(await sim.getAuditItem(executionArn())).toMatchObject({ Run_Status: 'FAILED' });
    expect(metricValues(captured).RunsFailed).toBe(1);
  } finally {
    await sim.stop();
  }
});
