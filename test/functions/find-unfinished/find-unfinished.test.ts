import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler } from '../../../src/functions/find-unfinished/find-unfinished.lambda';
import { EXECUTION, fleetInstanceId, instance, withEnvironment } from '../../helpers/handler-fixtures';

const ddb = mockClient(DynamoDBDocumentClient);
const TABLE = 'audit-table';
withEnvironment({ AUDIT_TABLE_NAME: TABLE });
const [a, b, c] = [1, 2, 3].map((n) => instance({ instanceId: fleetInstanceId(n) }));

beforeEach(() => {
  ddb.reset();
  ddb.on(GetCommand).resolves({ Item: { Page_Items_Json: JSON.stringify([a, b, c]) } });
  ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
  ddb.on(UpdateCommand).resolves({});
});

const outcome = (id: string) => ({ instanceId: id, succeeded: true, recorded: true });
const base = { execution: EXECUTION, pageNumber: 2, excluded: [], excludedCount: 0, nextToken: 'tag:next' };

test('a failed child of the Map: its instance (from the manifest) is to recover, with the child\'s error', async () => {
  const failed = { Status: 'FAILED', Input: JSON.stringify({ instance: b }), Error: 'States.Runtime', Cause: 'x'.repeat(1000) };
  const result = await handler({ ...base, items: [outcome(a.instanceId), failed, outcome(c.instanceId)], mapError: {} });
  expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLE, Key: { SM_Execution_ID: `PAGE#${EXECUTION.id}#2` }, ConsistentRead: true });
  expect(result.unfinished).toEqual([{ instance: b, error: { Error: 'States.Runtime', Cause: 'x'.repeat(300) } }]);
  expect(result.unfinishedCount).toBe(1);
  // The page for record-page: outcomes as they were, the recovered one by id (its entry will be in the table).
  expect(result.items).toEqual([outcome(a.instanceId), { instanceId: b.instanceId }, outcome(c.instanceId)]);
  expect(result).toMatchObject({ nextToken: 'tag:next', excludedCount: 0 });
  // Only the instance without an outcome was looked up in the table.
  const keys = ddb.commandCalls(BatchGetCommand).flatMap((x) => x.args[0].input.RequestItems![TABLE].Keys!);
  expect(keys).toEqual([{ SM_Execution_ID: `${EXECUTION.id}#${b.instanceId}` }]);
});

test('the Map failed as a whole: those with an item in the table are not recovered; the error is the Map\'s', async () => {
  ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [{ SM_Execution_ID: `${EXECUTION.id}#${a.instanceId}`, InstanceId: a.instanceId, Outcome: 'SUCCEEDED' }] } });
  const result = await handler({ ...base, items: [a, b, c], mapError: { Error: 'States.DataLimitExceeded', Cause: 'too big' } });
  expect(result.unfinished).toEqual([{ instance: b, error: {} }, { instance: c, error: {} }]);
  expect(result.items).toEqual([a, { instanceId: b.instanceId }, { instanceId: c.instanceId }]);
});

test('no manifest: the page is what the Map returned (a failed child\'s instance from its input)', async () => {
  ddb.on(GetCommand).resolves({});
  const failed = { Status: 'FAILED', Input: JSON.stringify({ instance: b }), Error: 'States.Runtime', Cause: 'killed' };
  const result = await handler({ ...base, items: [outcome(a.instanceId), failed], mapError: {} });
  expect(result.unfinished).toEqual([{ instance: b, error: { Error: 'States.Runtime', Cause: 'killed' } }]);
  expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
});

test('nothing died: nothing to recover, the manifest set to expire', async () => {
  const result = await handler({ ...base, items: [a, b, c].map((i) => outcome(i.instanceId)), mapError: {} });
  expect(result.unfinishedCount).toBe(0);
  expect(ddb).not.toHaveReceivedCommand(BatchGetCommand);
  expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { Key: { SM_Execution_ID: `PAGE#${EXECUTION.id}#2` }, UpdateExpression: 'SET #expires = :expires' });
});
