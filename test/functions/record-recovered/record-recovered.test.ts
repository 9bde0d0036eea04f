import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type InspectChainResult } from '../../../src/contract/messages';
import { handler } from '../../../src/functions/record-recovered/record-recovered.lambda';
import { EXECUTION, instance, runConfig, withEnvironment } from '../../helpers/handler-fixtures';

const ddb = mockClient(DynamoDBDocumentClient);
withEnvironment({ AUDIT_TABLE_NAME: 'audit-table' });
beforeEach(() => {
  ddb.reset();
  ddb.on(PutCommand).resolves({});
});

const inspected = (over: Partial<InspectChainResult> = {}): InspectChainResult =>
  ({ steps: { errors: {} }, needs: { start: false, post: false }, state: 'running', journaled: [], ...over });
const written = () => ddb.commandCalls(PutCommand)[0].args[0].input.Item as Record<string, any>;

test('the chain\'s error, what the recovery did, and always a failure', async () => {
  const result = await handler({
    execution: EXECUTION,
    instance: instance(),
    config: runConfig(),
    steps: { errors: {}, start: { instanceId: 'i', state: 'running', status: 'Success', message: '', done: true, poll: null as any } },
    chainError: { Error: 'States.Runtime', Cause: 'An error occurred while executing the state \'Backup job\'' },
    mapError: {},
    recovery: inspected({ needs: { start: true, post: true }, journaled: ['pre', 'stop'] }),
  });
  expect(result).toEqual({ instanceId: instance().instanceId, succeeded: false, recorded: true });
  const item = written();
  expect(item.Outcome).toBe('FAILED');
  expect(item.FailureMessage).toMatch(/^the instance's chain died \(States.Runtime: An error occurred while executing the state 'Backup job'\); the run's recovery started the instance again \(Success\) and ran the post-backup script \(not reached\)/);
  expect(item.Notes).toMatch(/journaled by the run before the chain died: pre, stop/);
  expect(item.Recovered_From).toMatch(/^States.Runtime: /);
  expect(item.SM_Execution_ID).toBe(`${EXECUTION.id}#${instance().instanceId}`);
});

test('without the child\'s error, the Map\'s; a journal that could not be read says so', async () => {
  await handler({
    execution: EXECUTION,
    instance: instance(),
    config: runConfig(),
    steps: { errors: {} },
    chainError: {},
    mapError: { Error: 'States.ExceedToleratedFailureThreshold', Cause: 'too many' },
    recovery: inspected({ inspectFailed: true, state: 'unknown' }),
  });
  expect(written().FailureMessage).toMatch(/^the instance's chain died \(States.ExceedToleratedFailureThreshold: too many\); the run's recovery could not read what the run did to it/);
});
