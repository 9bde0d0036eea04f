import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type DiscoveredInstance, type InstanceOutcome, type RunTally } from '../../../src/contract/instance';
import { handler } from '../../../src/functions/record-page/record-page.lambda';
import { EXCLUDED_SAMPLE_SIZE } from '../../../src/lambda-shared/audit-batch';
import { FakeTable } from '../../helpers/fake-table';
import { backupOnlyConfig, backupSteps as steps, EXECUTION, fleetInstanceId as id, throttling } from '../../helpers/handler-fixtures';

const dynamo = mockClient(DynamoDBDocumentClient);
const config = backupOnlyConfig();
const key = (n: number) => `${EXECUTION.id}#${id(n)}`;

function discovered(n: number): DiscoveredInstance {
  return { instanceId: id(n), state: 'running', platform: 'Linux', ssmPingStatus: 'NotChecked' };
}
function unrecorded(n: number, state = 'COMPLETED', message = ''): InstanceOutcome {
  return { instanceId: id(n), succeeded: state === 'COMPLETED', recorded: false, steps: steps(state, message), instance: discovered(n) };
}
/** An entry its chain wrote (record-instance), and the outcome the chain reported. */
function recorded(table: FakeTable, n: number, outcome = 'SUCCEEDED', extra: Record<string, unknown> = {}): InstanceOutcome {
  table.items.set(key(n), {
    SM_Execution_ID: key(n),
    RecordType: 'INSTANCE',
    Run_Execution_ID: EXECUTION.id,
    InstanceId: id(n),
    Outcome: outcome,
    BackupJobStatus: outcome === 'SUCCEEDED' ? 'COMPLETED' : 'FAILED',
    FailureMessage: outcome === 'FAILED' ? 'x' : '',
    ...extra,
  });
  return { instanceId: id(n), succeeded: outcome === 'SUCCEEDED', recorded: true, ...(outcome === 'SKIPPED' ? { skipped: true } : {}) };
}

let table: FakeTable;
beforeEach(() => {
  dynamo.reset();
  table = new FakeTable(1000);
  table.install(dynamo);
  process.env.AUDIT_TABLE_NAME = 'audit';
  delete process.env.AUDIT_RETENTION_DAYS;
});

describe('record-page', () => {
  test('writes the entries the chains could not write, reads the others back, and tallies the page', async () => {
    const items = [recorded(table, 1), recorded(table, 2, 'FAILED', { StoppedSeconds: 42 }), unrecorded(3), unrecorded(4, 'FAILED', 'denied')];
    const tally = await handler({
      execution: EXECUTION,
      config,
      items,
      excluded: [{ instanceId: id(9), state: 'terminated', reason: 'instance is terminated: nothing to back up' }],
      excludedCount: 1,
    });
    expect(tally).toEqual({
      pages: 1,
      instanceCount: 4,
      succeededCount: 2,
      failedCount: 2,
      skippedCount: 0,
      maxStoppedSeconds: 42,
      maxFrozenSeconds: 0,
      excludedCount: 1,
      excludedSample: [{ instanceId: id(9), state: 'terminated', reason: 'instance is terminated: nothing to back up' }],
    });
    expect(dynamo).toHaveReceivedCommandTimes(BatchWriteCommand, 1);
    expect(table.items.get(key(3))).toMatchObject({ RecordType: 'INSTANCE', Run_Execution_ID: EXECUTION.id, Outcome: 'SUCCEEDED', BackupJobStatus: 'COMPLETED' });
    expect(table.items.get(key(4))).toMatchObject({ Outcome: 'FAILED', FailureMessage: 'backup job FAILED: denied' });
    // Only the entries the chains wrote are read back, with consistent reads.
    const gets = dynamo.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems!.audit);
    expect(gets).toEqual([{ Keys: [{ SM_Execution_ID: key(1) }, { SM_Execution_ID: key(2) }], ConsistentRead: true }]);
  });

  test('adds to the tally of the earlier pages; the excluded sample stays bounded', async () => {
    const before: RunTally = {
      pages: 3,
      instanceCount: 30,
      succeededCount: 27,
      failedCount: 2,
      skippedCount: 1,
      maxStoppedSeconds: 100,
      maxFrozenSeconds: 0,
      excludedCount: 90,
      excludedSample: Array.from({ length: 90 }, (_, i) => ({ instanceId: id(1000 + i), state: 'terminated', reason: 'gone' })),
    };
    const excluded = Array.from({ length: 20 }, (_, i) => ({ instanceId: id(2000 + i), state: 'shutting-down', reason: 'gone' }));
    const tally = await handler({ execution: EXECUTION, config, items: [unrecorded(1)], excluded, excludedCount: 150, tally: before });
    expect(tally).toMatchObject({
      pages: 4,
      instanceCount: 31,
      succeededCount: 28,
      failedCount: 2,
      skippedCount: 1,
      maxStoppedSeconds: 100,
      maxFrozenSeconds: 0,
      excludedCount: 240,
    });
    expect(tally.excludedSample).toHaveLength(EXCLUDED_SAMPLE_SIZE);
    expect(tally.excludedSample.slice(0, 90)).toEqual(before.excludedSample);
  });

  test('an entry its chain reported written but found nowhere: written, saying so, keeping the reported outcome', async () => {
    const tally = await handler({
      execution: EXECUTION,
      config,
      items: [
        { instanceId: id(1), succeeded: false, recorded: true },
        { instanceId: id(2), succeeded: false, skipped: true, recorded: true },
        { instanceId: id(3), succeeded: true, recorded: true },
      ],
    });
    expect(tally).toMatchObject({ instanceCount: 3, failedCount: 1, skippedCount: 1, succeededCount: 1 });
    expect(table.items.get(key(1))).toMatchObject({ Outcome: 'FAILED', FailureMessage: expect.stringContaining('not found'), Notes: expect.stringContaining('not found') });
    expect(table.items.get(key(2))).toMatchObject({ Outcome: 'SKIPPED', FailureMessage: '' });
    expect(table.items.get(key(3))).toMatchObject({ Outcome: 'SUCCEEDED', FailureMessage: '' });
  });

  test('an entry its chain left as raw results in the table: derived from them, replacing the item', async () => {
    // What the workflow's own PutItem leaves when record-instance failed (src/workflow/instance-chain.ts).
    const leave = (n: number, state: string, message = '') => table.items.set(key(n), {
      SM_Execution_ID: key(n),
      RecordType: 'INSTANCE',
      Run_Execution_ID: EXECUTION.id,
      InstanceId: id(n),
      ExecutionName: EXECUTION.name,
      Unrecorded_Steps_Json: JSON.stringify(steps(state, message)),
      Unrecorded_Instance_Json: JSON.stringify({ ...discovered(n), platform: 'Windows' }),
      Unrecorded_Reason: 'Lambda.TooManyRequestsException: Rate exceeded',
    });
    leave(1, 'COMPLETED');
    leave(2, 'ABORTED', 'the job was stopped');
    const small = (n: number): InstanceOutcome => ({ instanceId: id(n), succeeded: false, recorded: false, stepsInTable: true });
    const tally = await handler({ execution: EXECUTION, config, items: [small(1), small(2), recorded(table, 3)] });

    expect(tally).toMatchObject({ instanceCount: 3, succeededCount: 2, failedCount: 1 });
    // The outcome said "failed" only because the chain could not know: the results decide.
    expect(table.items.get(key(1))).toMatchObject({ Outcome: 'SUCCEEDED', BackupJobStatus: 'COMPLETED', Platform: 'Windows', FailureMessage: '' });
    expect(table.items.get(key(2))).toMatchObject({ Outcome: 'FAILED', BackupJobStatus: 'ABORTED', FailureMessage: 'backup job ABORTED: the job was stopped' });
    for (const n of [1, 2]) {
      expect(table.items.get(key(n))).not.toHaveProperty('Unrecorded_Steps_Json');
      expect(table.items.get(key(n))).toMatchObject({ RecordType: 'INSTANCE', Run_Execution_ID: EXECUTION.id, InstanceId: id(n) });
    }
    // Read back, like every entry the outcome does not carry.
    const keys = dynamo.commandCalls(BatchGetCommand).flatMap((c) => c.args[0].input.RequestItems!.audit.Keys);
    expect(keys).toEqual([{ SM_Execution_ID: key(1) }, { SM_Execution_ID: key(2) }, { SM_Execution_ID: key(3) }]);
  });

  test('an item whose raw results do not parse, or that is missing: the entry says the instance failed and why', async () => {
    table.items.set(key(1), { SM_Execution_ID: key(1), RecordType: 'INSTANCE', InstanceId: id(1), Unrecorded_Steps_Json: '{"backup": ' });
    const small = (n: number): InstanceOutcome => ({ instanceId: id(n), succeeded: false, recorded: false, stepsInTable: true });
    const tally = await handler({ execution: EXECUTION, config, items: [small(1), small(2)] });
    expect(tally).toMatchObject({ instanceCount: 2, failedCount: 2 });
    expect(table.items.get(key(1))).toMatchObject({ Outcome: 'FAILED', FailureMessage: expect.stringContaining('could not be read') });
    expect(table.items.get(key(2))).toMatchObject({ Outcome: 'FAILED', FailureMessage: expect.stringContaining('not found') });
  });

  test('the Map failed: the page\'s instances without an entry are recorded as failed, those with one are counted', async () => {
    recorded(table, 1);
    const tally = await handler({ execution: EXECUTION, config, items: [discovered(1), discovered(2)] });
    expect(tally).toMatchObject({ instanceCount: 2, succeededCount: 1, failedCount: 1 });
    expect(table.items.get(key(2))).toMatchObject({
      Outcome: 'FAILED', InstanceStateAtStart: 'running', FailureMessage: expect.stringContaining('chain did not finish'),
    });
  });

  test('1,000 instances: BatchGetItem by 100, BatchWriteItem by 25, the output a few hundred bytes', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? recorded(table, i + 1) : unrecorded(i + 1, 'FAILED', 'x')));
    const tally = await handler({ execution: EXECUTION, config, items });
    expect(tally).toMatchObject({ instanceCount: 1000, failedCount: 500, succeededCount: 500 });
    expect(dynamo.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems!.audit.Keys!.length)).toEqual(Array(5).fill(100));
    expect(dynamo.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems!.audit.length)).toEqual(Array(20).fill(25));
    expect(Buffer.byteLength(JSON.stringify(tally))).toBeLessThan(300);
  });

  test('unprocessed writes and keys are retried, then TransientError', async () => {
    dynamo.on(BatchWriteCommand)
      .callsFakeOnce((input) => ({ UnprocessedItems: { audit: input.RequestItems.audit.slice(1) } }))
      .callsFakeOnce((input) => {
        for (const r of input.RequestItems.audit) table.items.set(r.PutRequest.Item.SM_Execution_ID, r.PutRequest.Item);
        return { UnprocessedItems: {} };
      });
    await handler({ execution: EXECUTION, config, items: [unrecorded(1), unrecorded(2)] });
    expect(dynamo.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems!.audit.length)).toEqual([2, 1]);

    dynamo.on(BatchWriteCommand).callsFake((input) => ({ UnprocessedItems: input.RequestItems }));
    await expect(handler({ execution: EXECUTION, config, items: [unrecorded(1)] })).rejects.toMatchObject({ name: 'TransientError' });

    dynamo.on(BatchGetCommand).callsFake((input) => ({ Responses: { audit: [] }, UnprocessedKeys: input.RequestItems }));
    await expect(handler({ execution: EXECUTION, config, items: [recorded(table, 5)] })).rejects.toMatchObject({ name: 'TransientError' });
  });

  test('throttling: TransientError', async () => {
    dynamo.on(BatchGetCommand).rejects(throttling());
    await expect(handler({ execution: EXECUTION, config, items: [recorded(table, 1)] })).rejects.toMatchObject({ name: 'TransientError' });
  });

  test('idempotent: the same page twice gives the same tally and the same items', async () => {
    const event = { execution: EXECUTION, config, items: [recorded(table, 1), unrecorded(2, 'FAILED')] };
    const first = await handler(event);
    const count = table.items.size;
    expect(await handler(event)).toEqual(first);
    expect(table.items.size).toBe(count);
  });
});
