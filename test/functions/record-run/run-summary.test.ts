import { type AuditEntry } from '../../../src/contract/audit-schema';
import { executionLink, metricsRecord, parseExecutionArn, runNotification, runSummary } from '../../../src/functions/record-run/run-summary';

const execution = {
  id: 'arn:aws:states:eu-west-1:111122223333:execution:AppBackupStateMachine:nightly',
  name: 'nightly',
  startTime: '2026-11-22T02:00:00.000Z',
};

function entry(id: string, outcome: 'SUCCEEDED' | 'FAILED' | 'SKIPPED', failure = ''): AuditEntry {
  return {
    InstanceId: id,
    InstanceStateAtStart: 'running',
    Platform: 'Linux',
    PreBackupScriptStatus: outcome === 'FAILED' ? 'Failed' : 'Success',
    StopEc2InstanceStatus: 'skipped',
    BackupJobStatus: outcome === 'FAILED' ? 'NotRun: earlier step failed' : 'COMPLETED',
    StartEc2InstanceStatus: 'skipped',
    PostBackupScriptStatus: 'Success',
    FailureMessage: failure,
    BackupJobId: '',
    RecoveryPointArn: '',
    PreBackupScriptCommandId: '',
    PostBackupScriptCommandId: '',
    Outcome: outcome,
    Notes: '',
  } as AuditEntry;
}

describe('run summary', () => {
  test('parses the execution ARN and links to the console in its Region', () => {
    expect(parseExecutionArn(execution.id)).toEqual({ region: 'eu-west-1', account: '111122223333', stateMachineName: 'AppBackupStateMachine' });
    expect(executionLink(execution.id)).toBe(`https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${execution.id}`);
  });

  test('the notification lists the failed instances with their step statuses and why, and where to look', () => {
    const n = runNotification(execution, 'FAILED', '1 of 2 instances failed: i-2', [
      entry('i-1', 'SUCCEEDED'),
      entry('i-2', 'FAILED', 'pre-backup script Failed (exit 1): busy'),
    ], 'audit-table');
    expect(n.subject).toBe('Backup run FAILED: 1 of 2 instances failed');
    expect(n.message.split('\n')).toEqual([
      'Pre/post-script backup run nightly FAILED.',
      'Reason: 1 of 2 instances failed: i-2',
      '',
      '- i-2: pre-backup script Failed (exit 1): busy',
      '  pre Failed | stop skipped | backup NotRun: earlier step failed | start skipped | post Success',
      '',
      `Execution: ${executionLink(execution.id)}`,
      `Audit record: table audit-table, SM_Execution_ID = ${execution.id}`,
    ]);
  });

  test('a long fleet is cut at 50 failed instances; the subject stays ASCII and within 100 characters', () => {
    const entries = Array.from({ length: 80 }, (_, i) => entry(`i-${i}`, 'FAILED', 'x'));
    const n = runNotification({ ...execution, name: 'ñ'.repeat(200) }, 'FAILED', '', entries, 't');
    expect(n.message).toContain('... and 30 more failed instances');
    expect(n.message).not.toContain('- i-50:');
    expect(n.subject.length).toBeLessThanOrEqual(100);
    expect(n.subject).toMatch(/^[\x20-\x7e]+$/);
  });

  test('metrics in CloudWatch embedded metric format, per state machine', () => {
    const record = metricsRecord('AppBackupStateMachine', { succeeded: 3, failed: 1, excluded: 2, skipped: 1, maxStoppedSeconds: 4020, maxFrozenSeconds: 75 }, new Date(1_000));
    expect(record).toEqual({
      _aws: {
        Timestamp: 1000,
        CloudWatchMetrics: [{
          Namespace: 'PrePostScriptBackup',
          Dimensions: [['StateMachineName']],
          Metrics: [
            { Name: 'InstancesSucceeded', Unit: 'Count' },
            { Name: 'InstancesFailed', Unit: 'Count' },
            { Name: 'InstancesExcluded', Unit: 'Count' },
            { Name: 'InstancesSkipped', Unit: 'Count' },
            { Name: 'InstanceStoppedSeconds', Unit: 'Seconds' },
            { Name: 'InstanceFrozenSeconds', Unit: 'Seconds' },
          ],
        }],
      },
      StateMachineName: 'AppBackupStateMachine',
      InstancesSucceeded: 3,
      InstancesFailed: 1,
      InstancesExcluded: 2,
      InstancesSkipped: 1,
      InstanceStoppedSeconds: 4020,
      InstanceFrozenSeconds: 75,
    });
  });

  test('an instance skipped because another run held its lease is neither failed nor succeeded', () => {
    const entries = [entry('i-ok', 'SUCCEEDED'), entry('i-held', 'SKIPPED'), entry('i-bad', 'FAILED', 'backup job FAILED')];
    const { subject, message } = runNotification(execution, 'FAILED', '1 of 3 instances failed: i-bad', entries, 'audit');
    expect(subject).toBe('Backup run FAILED: 1 of 3 instances failed');
    expect(message).toContain('- i-bad: backup job FAILED');
    expect(message).not.toContain('i-held');
    const summary = runSummary(execution, { status: 'FAILED', endTime: '2026-11-22T03:00:00.000Z', excludedCount: 0, message: '' }, entries);
    expect(summary).toMatchObject({ instanceCount: 3, succeededCount: 1, failedCount: 1 });
    expect(summary.failures.map(f => f.instanceId)).toEqual(['i-bad']);
  });

  test('the run summary for the central bus follows its contract: numbers, booleans, strings, at most 50 failures', () => {
    const entries = [entry('i-ok', 'SUCCEEDED'), ...Array.from({ length: 55 }, (_, i) => entry(`i-${i}`, 'FAILED', `reason ${i}`))];
    const summary = runSummary(execution, { status: 'FAILED', endTime: '2026-11-22T03:00:00.000Z', excludedCount: 2, message: '55 of 56 instances failed' }, entries);
    expect(summary).toMatchObject({
      executionArn: execution.id,
      account: '111122223333',
      region: 'eu-west-1',
      status: 'FAILED',
      startTime: '2026-11-22T02:00:00.000Z',
      endTime: '2026-11-22T03:00:00.000Z',
      instanceCount: 56,
      succeededCount: 1,
      failedCount: 55,
      excludedCount: 2,
      failuresTruncated: true,
      message: '55 of 56 instances failed',
    });
    expect(summary.failures).toHaveLength(50);
    expect(summary.failures[0]).toEqual({
      instanceId: 'i-0',
      failureMessage: 'reason 0',
      preBackupScriptStatus: 'Failed',
      stopEc2InstanceStatus: 'skipped',
      backupJobStatus: 'NotRun: earlier step failed',
      startEc2InstanceStatus: 'skipped',
      postBackupScriptStatus: 'Success',
    });
    const ok = runSummary(execution, { status: 'SUCCEEDED', endTime: 'x', excludedCount: 0, message: '' }, [entry('i-ok', 'SUCCEEDED')]);
    expect(ok).toMatchObject({ failures: [], failuresTruncated: false, message: '', failedCount: 0 });
  });
});
