import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type ExcludedInstance, type InstanceOutcome, type RunTally } from '../../../src/contract/instance';
import { type RecordRunEvent } from '../../../src/contract/messages';
import { handler as recordPage } from '../../../src/functions/record-page/record-page.lambda';
import { handler } from '../../../src/functions/record-run/record-run.lambda';
import { FakeTable } from '../../helpers/fake-table';
import { backupOnlyConfig, backupSteps as steps, EXECUTION, fleetInstanceId as id, throttling } from '../../helpers/handler-fixtures';

const dynamo = mockClient(DynamoDBDocumentClient);
const config = backupOnlyConfig();

function unrecorded(n: number, state = 'COMPLETED', message = ''): InstanceOutcome {
  return {
    instanceId: id(n),
    succeeded: state === 'COMPLETED',
    recorded: false,
    steps: steps(state, message),
    instance: { instanceId: id(n), state: 'running', platform: 'Linux', ssmPingStatus: 'NotChecked' },
  };
}
/** An entry its chain wrote itself (record-instance), and the outcome the chain reported. */
function recorded(n: number, outcome = 'SUCCEEDED'): InstanceOutcome {
  table.items.set(`${EXECUTION.id}#${id(n)}`, {
    SM_Execution_ID: `${EXECUTION.id}#${id(n)}`,
    RecordType: 'INSTANCE',
    Run_Execution_ID: EXECUTION.id,
    InstanceId: id(n),
    Outcome: outcome,
    FailureMessage: outcome === 'FAILED' ? 'x' : '',
  });
  return { instanceId: id(n), succeeded: outcome === 'SUCCEEDED', recorded: true };
}
function runItem(table: FakeTable) {
  return table.items.get(EXECUTION.id)!;
}
/** The run's pages as the workflow records them (record-page), in pages of `size`: the tally record-run gets. */
async function pages(outcomes: InstanceOutcome[], excluded: ExcludedInstance[] = [], size = 1000): Promise<RunTally> {
  let tally: RunTally | undefined;
  for (let i = 0; i === 0 || i < outcomes.length; i += size) {
    tally = await recordPage({ execution: EXECUTION, config, items: outcomes.slice(i, i + size), excluded: i === 0 ? excluded : [], tally });
  }
  return tally!;
}

let table: FakeTable;
beforeEach(() => {
  dynamo.reset();
  table = new FakeTable(1000);
  table.install(dynamo);
  process.env.AUDIT_TABLE_NAME = 'audit';
  process.env.AUDIT_RUN_INDEX_NAME = 'run-index';
  delete process.env.AUDIT_RETENTION_DAYS;
});

describe('record-run', () => {
  test('a successful run: entries from the index, the run item with every field', async () => {
    // Two instances recorded by their chains, one not.
    for (const n of [1, 2]) {
      table.items.set(`${EXECUTION.id}#${id(n)}`, {
        SM_Execution_ID: `${EXECUTION.id}#${id(n)}`,
        RecordType: 'INSTANCE',
        Run_Execution_ID: EXECUTION.id,
        InstanceId: id(n),
        Outcome: 'SUCCEEDED',
        BackupJobStatus: 'COMPLETED',
        FailureMessage: '',
      });
    }
    const tally = await pages([
      { instanceId: id(1), succeeded: true, recorded: true },
      { instanceId: id(2), succeeded: true, recorded: true },
      unrecorded(3),
    ], [{ instanceId: id(9), state: 'terminated', reason: 'instance is terminated: nothing to back up' }]);
    const event: RecordRunEvent = { execution: EXECUTION, input: { StartStopEC2Required: false }, config, tally };
    const result = await handler(event);
    expect(result).toMatchObject({ status: 'SUCCEEDED', instanceCount: 3, failedCount: 0, message: '' });
    expect(result.notificationSubject).toBe('Backup run SUCCEEDED: 0 of 3 instances failed');
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'audit', IndexName: 'run-index', ExpressionAttributeValues: { ':run': EXECUTION.id },
    });
    expect(dynamo).toHaveReceivedCommandTimes(BatchWriteCommand, 1);
    expect(table.items.get(`${EXECUTION.id}#${id(3)}`)).toMatchObject({ RecordType: 'INSTANCE', Outcome: 'SUCCEEDED', BackupJobStatus: 'COMPLETED' });
    const item = runItem(table);
    expect(item).toMatchObject({
      SM_Execution_ID: EXECUTION.id,
      RecordType: 'RUN',
      ExecutionName: 'run-1',
      StartTime: EXECUTION.startTime,
      EndTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      Run_Status: 'SUCCEEDED',
      Run_FailureMessage: '',
      InstanceCount: 3,
      SucceededCount: 3,
      FailedCount: 0,
      ExcludedCount: 1,
      ExcludedInstances: [{ InstanceId: id(9), State: 'terminated', Reason: 'instance is terminated: nothing to back up' }],
      ExcludedInstances_Complete: true,
      DiscoveryPages: 1,
      TagKey: 'backup-job-pre-post-script',
      TagValue: 'true',
      StopInstances: false,
      PreBackupScriptEnabled: false,
      PostBackupScriptEnabled: false,
      Input: '{"StartStopEC2Required":false}',
      Workflow_Overall_Status_Complete: true,
    });
    expect(item.Run_Execution_ID).toBeUndefined();
    expect(item.Workflow_Overall_Status.map((e: any) => e.InstanceId)).toEqual([id(1), id(2), id(3)]);
    expect(Object.keys(item.Workflow_Overall_Status[2])).toEqual(expect.arrayContaining([
      'InstanceId', 'PreBackupScriptStatus', 'StopEc2InstanceStatus', 'BackupJobStatus', 'PostBackupScriptStatus',
      'StartEc2InstanceStatus', 'FailureMessage', 'BackupJobId', 'RecoveryPointArn',
    ]));
  });

  test('failed instances: the run FAILED, failed entries first, the message counts them', async () => {
    const tally = await pages([unrecorded(1), unrecorded(2, 'FAILED', 'access denied'), unrecorded(3), unrecorded(4, 'PARTIAL', 'one volume')]);
    const result = await handler({ execution: EXECUTION, input: {}, config, tally });
    expect(result).toMatchObject({ status: 'FAILED', instanceCount: 4, failedCount: 2, message: `2 of 4 instances failed: ${id(2)}, ${id(4)}` });
    expect(result.notificationSubject).toBe('Backup run FAILED: 2 of 4 instances failed');
    expect(result.notificationMessage).toContain(`- ${id(2)}: backup job FAILED: access denied`);
    expect(result.notificationMessage).toContain(`- ${id(4)}: backup job PARTIAL: one volume`);
    expect(result.notificationMessage).not.toContain(`- ${id(1)}`);
    expect(result.notificationMessage).toContain(`Execution: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION.id}`);
    const item = runItem(table);
    expect(item.Workflow_Overall_Status.map((e: any) => [e.InstanceId, e.Outcome])).toEqual([
      [id(2), 'FAILED'], [id(4), 'FAILED'], [id(1), 'SUCCEEDED'], [id(3), 'SUCCEEDED'],
    ]);
    expect(item.Workflow_Overall_Status[0].FailureMessage).toBe('backup job FAILED: access denied');
  });

  test('instances skipped because another run held their lease: counted apart, the run SUCCEEDED, nobody notified of a failure', async () => {
    const held: InstanceOutcome = {
      instanceId: id(2),
      succeeded: false,
      skipped: true,
      recorded: false,
      steps: { eligibility: { status: 'SkippedLeaseHeld', message: 'instance is being worked on by run arn:other until 2024-05-01T04:00:00.000Z' } },
      instance: { instanceId: id(2), state: 'running', platform: 'Linux', ssmPingStatus: 'NotChecked' },
    };
    const result = await handler({ execution: EXECUTION, input: {}, config, tally: await pages([unrecorded(1), held, unrecorded(3)]) });
    expect(result).toMatchObject({ status: 'SUCCEEDED', instanceCount: 3, failedCount: 0, skippedCount: 1, message: '' });
    expect(result.notificationSubject).toBe('Backup run SUCCEEDED: 0 of 3 instances failed');
    expect(result.summary).toMatchObject({ instanceCount: 3, succeededCount: 2, failedCount: 0, failures: [] });
    const item = runItem(table);
    expect(item).toMatchObject({ Run_Status: 'SUCCEEDED', Run_FailureMessage: '', InstanceCount: 3, SucceededCount: 2, FailedCount: 0, SkippedCount: 1 });
    expect(item.Workflow_Overall_Status.find((e: any) => e.InstanceId === id(2))).toMatchObject({ Outcome: 'SKIPPED', FailureMessage: '' });
  });

  test('a skipped instance next to a failed one: FAILED for the failed one only', async () => {
    const held: InstanceOutcome = { ...unrecorded(2), succeeded: false, skipped: true, steps: { eligibility: { status: 'SkippedLeaseHeld', message: 'held' } } };
    const result = await handler({ execution: EXECUTION, input: {}, config, tally: await pages([unrecorded(1, 'FAILED', 'denied'), held]) });
    expect(result).toMatchObject({ status: 'FAILED', failedCount: 1, skippedCount: 1, message: `1 of 2 instances failed: ${id(1)}` });
    expect(result.notificationMessage).not.toContain(`- ${id(2)}`);
  });

  test('an entry found nowhere of a skipped instance stays skipped', async () => {
    const outcome: InstanceOutcome = { instanceId: id(5), succeeded: false, skipped: true, recorded: true };
    const result = await handler({ execution: EXECUTION, input: {}, config, tally: await pages([outcome]) });
    expect(result).toMatchObject({ status: 'SUCCEEDED', failedCount: 0, skippedCount: 1 });
    expect(runItem(table).Workflow_Overall_Status[0]).toMatchObject({ Outcome: 'SKIPPED', FailureMessage: '' });
  });

  test('invalid input: FAILED with the validation message from the Lambda Cause', async () => {
    const result = await handler({
      execution: EXECUTION,
      input: { Foo: 1 },
      runError: {
        Error: 'InvalidInputError',
        Cause: JSON.stringify({ errorType: 'InvalidInputError', errorMessage: 'Invalid execution input (1 problem; no instance was touched): input: unknown key "Foo"' }),
      },
    });
    expect(result).toMatchObject({ status: 'FAILED', instanceCount: 0, failedCount: 0 });
    expect(result.message).toBe('invalid input: Invalid execution input (1 problem; no instance was touched): input: unknown key "Foo"');
    const item = runItem(table);
    expect(item).toMatchObject({ Run_Status: 'FAILED', Run_FailureMessage: result.message, InstanceCount: 0, Workflow_Overall_Status: [], Input: '{"Foo":1}' });
    expect(item.TagKey).toBeUndefined();
  });

  test('the workflow\'s placeholders: config {} and runError {} mean none', async () => {
    const ok = await handler({ execution: EXECUTION, input: {}, config, runError: {} as any, tally: await pages([unrecorded(1)]) });
    expect(ok).toMatchObject({ status: 'SUCCEEDED', instanceCount: 1, failedCount: 0, message: '' });
    const rejected = await handler({
      execution: EXECUTION,
      input: { Foo: 1 },
      config: {} as any,
      runError: { Error: 'InvalidInputError', Cause: JSON.stringify({ errorType: 'InvalidInputError', errorMessage: 'bad input' }) },
    });
    expect(rejected).toMatchObject({ status: 'FAILED', message: 'invalid input: bad input' });
    expect(runItem(table).TagKey).toBeUndefined();
  });

  test('a discovery failure', async () => {
    const result = await handler({ execution: EXECUTION, input: {}, config, runError: { Error: 'TransientError', Cause: 'DescribeInstances failed: Throttling' } });
    expect(result).toMatchObject({ status: 'FAILED', message: 'run failed: TransientError: DescribeInstances failed: Throttling' });
  });

  test('the index shows an entry late: record-run queries again and finds it', async () => {
    const tally = await pages([recorded(1, 'FAILED')]);
    table.hiddenFromIndex.add(id(1));
    setTimeout(() => table.hiddenFromIndex.delete(id(1)), 50);
    const result = await handler({ execution: EXECUTION, input: {}, config, tally });
    expect(result).toMatchObject({ failedCount: 1, instanceCount: 1 });
    expect(dynamo.commandCalls(QueryCommand).length).toBe(2);
    expect(runItem(table)).toMatchObject({ Workflow_Overall_Status_Complete: true });
    expect(runItem(table).Workflow_Overall_Status[0]).toMatchObject({ InstanceId: id(1), FailureMessage: 'x' });
  });

  test('the index never shows some entries: the counts come from the pages, the list says it is partial', async () => {
    const tally = await pages([recorded(1, 'FAILED'), recorded(2), recorded(3)]);
    table.hiddenFromIndex.add(id(1));
    const result = await handler({ execution: EXECUTION, input: {}, config, tally });
    expect(dynamo.commandCalls(QueryCommand).length).toBe(5);
    expect(result).toMatchObject({ status: 'FAILED', instanceCount: 3, failedCount: 1, message: '1 of 3 instances failed (see their entries in the table)' });
    expect(result.summary).toMatchObject({ instanceCount: 3, failedCount: 1, succeededCount: 2, failuresTruncated: true });
    expect(runItem(table)).toMatchObject({
      InstanceCount: 3,
      FailedCount: 1,
      SucceededCount: 2,
      Workflow_Overall_Status_Complete: false,
      Instance_Records: expect.stringContaining('holds 2 of 3 entries'),
    });
  }, 20_000);

  test('excluded instances: the sample in the item, the count of all of them', async () => {
    const tally: RunTally = {
      pages: 12,
      instanceCount: 0,
      succeededCount: 0,
      failedCount: 0,
      skippedCount: 0,
      maxStoppedSeconds: 0,
      maxFrozenSeconds: 0,
      excludedCount: 5000,
      excludedSample: Array.from({ length: 100 }, (_, i) => ({ instanceId: id(i + 1), state: 'terminated', reason: 'instance is terminated: nothing to back up' })),
    };
    const result = await handler({ execution: EXECUTION, input: {}, config, tally });
    expect(result).toMatchObject({ status: 'SUCCEEDED', instanceCount: 0 });
    expect(result.summary.excludedCount).toBe(5000);
    expect(runItem(table)).toMatchObject({ ExcludedCount: 5000, ExcludedInstances_Complete: false, DiscoveryPages: 12 });
    expect(runItem(table).ExcludedInstances).toHaveLength(100);
  });

  test('3,000 instances: the run item stays under 400 KB, failed first, and every instance has its item', async () => {
    const outcomes = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0
      ? unrecorded(i + 1, 'FAILED', `snapshot of vol-${i} failed: ${'detail '.repeat(30)}`)
      : unrecorded(i + 1)));
    const tally = await pages(outcomes, [], 1000);
    expect(dynamo).toHaveReceivedCommandTimes(BatchWriteCommand, 120);
    const result = await handler({ execution: EXECUTION, input: { TargetEC2Instances: outcomes.map((o) => o.instanceId) }, config, tally });
    expect(result).toMatchObject({ status: 'FAILED', instanceCount: 3000, failedCount: 1000 });
    expect(result.message).toMatch(/^1000 of 3000 instances failed: .* and 990 more$/);
    expect(dynamo.commandCalls(QueryCommand).length).toBe(3);

    const instanceItems = [...table.items.values()].filter((i) => i.RecordType === 'INSTANCE');
    expect(instanceItems).toHaveLength(3000);

    const item = runItem(table);
    expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(400 * 1024);
    expect(item.Workflow_Overall_Status_Complete).toBe(false);
    expect(item.Instance_Records).toContain(`Run_Execution_ID = ${EXECUTION.id}`);
    expect(item.Instance_Records).toContain('run-index');
    expect(item.Workflow_Overall_Status.length).toBeGreaterThan(100);
    expect(item.Workflow_Overall_Status.length).toBeLessThan(3000);
    expect(item.Workflow_Overall_Status.slice(0, 1000).every((e: any) => e.Outcome === 'FAILED')
      || item.Workflow_Overall_Status.every((e: any) => e.Outcome === 'FAILED')).toBe(true);
    expect(item.Input.length).toBeLessThanOrEqual(10 * 1024);
    expect(item.Input).toMatch(/\(truncated\)$/);
    expect(item.InstanceCount).toBe(3000);
  });

  test('throttling of the run item write: TransientError', async () => {
    dynamo.on(PutCommand).rejects(throttling());
    await expect(handler({ execution: EXECUTION, input: {}, config })).rejects.toMatchObject({ name: 'TransientError' });
  });

  test('idempotent: recording twice overwrites the same items', async () => {
    const event = { execution: EXECUTION, input: {}, config, tally: await pages([unrecorded(1), unrecorded(2, 'FAILED')]) };
    const first = await handler(event);
    const count = table.items.size;
    const second = await handler(event);
    // The same result, but for the clock: the two calls may not fall in the same millisecond.
    const withoutClock = (r: typeof first) => ({ ...r, summary: { ...r.summary, endTime: '' } });
    expect(withoutClock(second)).toEqual(withoutClock(first));
    expect(table.items.size).toBe(count);
  });

  test('a retention sets ExpiresAt on the run item', async () => {
    process.env.AUDIT_RETENTION_DAYS = '7';
    await handler({ execution: EXECUTION, input: {}, config });
    expect(runItem(table).ExpiresAt).toBeGreaterThan(Date.now() / 1000 + 6 * 86400);
  });
});

describe('record-run metrics (Powertools Metrics, embedded metric format)', () => {
  const saved = { emit: process.env.EMIT_METRICS, level: process.env.LOG_LEVEL };
  afterEach(() => {
    process.env.EMIT_METRICS = saved.emit;
    process.env.LOG_LEVEL = saved.level;
    if (saved.emit === undefined) delete process.env.EMIT_METRICS;
    jest.restoreAllMocks();
  });

  /** The JSON lines the handler printed that carry an embedded-metric-format record. */
  async function emfLines(emit: boolean): Promise<Array<Record<string, any>>> {
    process.env.LOG_LEVEL = 'info';
    if (emit) process.env.EMIT_METRICS = 'true'; else delete process.env.EMIT_METRICS;
    const printed: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => { printed.push(String(chunk)); return true; }) as never);
    jest.spyOn(process.stderr, 'write').mockImplementation((() => true) as never);
    const tally = await pages([unrecorded(1), unrecorded(2, 'FAILED', 'boom')]);
    await handler({ execution: EXECUTION, input: {}, config, tally });
    return printed.flatMap((c) => c.split('\n')).filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
  }

  test('one record per run: the namespace, the one StateMachineName dimension (no service dimension), the counts', async () => {
    const records = await emfLines(true);
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record._aws.CloudWatchMetrics).toEqual([{
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
    }]);
    expect(record).toMatchObject({ InstancesSucceeded: 1, InstancesFailed: 1, InstancesExcluded: 0, InstancesSkipped: 0 });
    expect(record.StateMachineName).toBe(EXECUTION.id.split(':')[6]);
    expect(record).not.toHaveProperty('service');
  });

  test('none unless the construct asks for metrics', async () => {
    expect(await emfLines(false)).toEqual([]);
  });
});

describe('record-run: a dry run (issue 15)', () => {
  test('the record, the notification and the summary say it was a dry run; not-ready instances fail it', async () => {
    const dryRun = { ...config, dryRun: true };
    const tally = await pages([recorded(1), recorded(2, 'FAILED')]);
    const result = await handler({ execution: EXECUTION, input: { DryRun: true }, config: dryRun, tally });
    expect(result).toMatchObject({ status: 'FAILED', instanceCount: 2, failedCount: 1 });
    expect(runItem(table)).toMatchObject({ DryRun: true, Run_Status: 'FAILED' });
    expect(runItem(table).Run_FailureMessage).toBe(`1 of 2 instances not ready (dry run): ${id(2)}`);
    expect(result.notificationSubject).toBe('Dry run FAILED: 1 of 2 instances not ready');
    expect(result.notificationMessage).toMatch(/^DRY RUN: nothing was frozen, stopped or backed up/);
    expect(result.summary.dryRun).toBe(true);
  });

  test('a real run\'s record and summary carry no DryRun', async () => {
    const tally = await pages([recorded(1)]);
    const result = await handler({ execution: EXECUTION, input: {}, config, tally });
    expect(runItem(table).DryRun).toBeUndefined();
    expect('dryRun' in result.summary).toBe(false);
  });
});

describe('record-run: pages that ran at the same time (their results beside their manifests)', () => {
  /** What the workflow's "Write page result" puts beside page `p`'s manifest: the page's own tally and error. */
  function pageResult(p: number, tally: RunTally | undefined, runError: object = {}): void {
    const manifest = `PAGE#${EXECUTION.id}#${p}`;
    table.items.set(manifest, { SM_Execution_ID: manifest, RecordType: 'PAGE', Page_Items_Json: '[]' });
    if (tally) {
      const key = `${manifest}#RESULT`;
      table.items.set(key, { SM_Execution_ID: key, RecordType: 'PAGE', Page_Result_Json: JSON.stringify({ tally, runError }) });
    }
  }

  test('three pages: the run\'s counts are the sum of the pages\' tallies, the excluded sample the first 100 of theirs', async () => {
    const excluded = (p: number, n: number) => Array.from({ length: n }, (_, k) => ({ instanceId: id(900 + p * 100 + k), state: 'terminated', reason: 'gone' }));
    pageResult(0, await pages([recorded(1), recorded(2)], excluded(0, 60)));
    pageResult(1, await pages([recorded(3), recorded(4, 'FAILED')], excluded(1, 60)));
    pageResult(2, await pages([recorded(5, 'SKIPPED')]));
    const result = await handler({ execution: EXECUTION, input: {}, config, tally: undefined, pageCount: 3 } as RecordRunEvent);
    expect(result).toMatchObject({ status: 'FAILED', instanceCount: 5, failedCount: 1, skippedCount: 1 });
    expect(runItem(table)).toMatchObject({
      DiscoveryPages: 3, InstanceCount: 5, FailedCount: 1, SkippedCount: 1, SucceededCount: 3, ExcludedCount: 120,
    });
    const shown = runItem(table).ExcludedInstances as Array<{ InstanceId: string }>;
    expect(shown).toHaveLength(100);
    expect(shown[0].InstanceId).toBe(id(900));
    expect(shown[99].InstanceId).toBe(id(1000 + 39));
  });

  test('a page that ended without its result fails the run, naming the page', async () => {
    pageResult(0, await pages([recorded(1)]));
    pageResult(1, undefined);
    const result = await handler({ execution: EXECUTION, input: {}, config, pageCount: 2 } as RecordRunEvent);
    expect(result.status).toBe('FAILED');
    expect(runItem(table).Run_FailureMessage).toMatch(/PageEndedEarly: page 2 of 2 ended without recording/);
  });

  test('a page whose Map failed as a whole: its error is the run\'s; an error the run already has comes first', async () => {
    pageResult(0, await pages([recorded(1)]), { Error: 'States.ExceedToleratedFailureThreshold', Cause: 'too many' });
    const result = await handler({ execution: EXECUTION, input: {}, config, pageCount: 1 } as RecordRunEvent);
    expect(result.status).toBe('FAILED');
    expect(runItem(table).Run_FailureMessage).toMatch(/ExceedToleratedFailureThreshold/);
    const first = await handler({ execution: EXECUTION, input: {}, config, pageCount: 1, runError: { Error: 'States.Runtime', Cause: 'the pages\' Map' } } as RecordRunEvent);
    expect(first.status).toBe('FAILED');
    expect(runItem(table).Run_FailureMessage).toMatch(/States.Runtime/);
  });
});
