import { ListCommandInvocationsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { journalKey } from '../../../src/contract/audit-schema';
import { COMMAND_FATE_UNKNOWN, handler, RECOVERY_LOOKS } from '../../../src/functions/send-script/send-script.lambda';
import { awsError, EXECUTION, runConfig, throttling, withEnvironment } from '../../helpers/handler-fixtures';
import { FakeJournal } from '../../helpers/ssm-fixtures';

const ssm = mockClient(SSMClient);
const ddb = mockClient(DynamoDBDocumentClient);
const ID = 'i-0123456789abcdef0';
const pre = runConfig().preScript;
const post = runConfig().postScript;
const KEY = journalKey(EXECUTION.id, ID);
let journal: FakeJournal;

withEnvironment({ AUDIT_TABLE_NAME: 'audit-table' });

beforeEach(() => {
  ssm.reset();
  ddb.reset();
  journal = new FakeJournal();
  ddb.on(UpdateCommand).callsFake((input) => journal.update(input));
  ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-new' } });
});

describe('send-script', () => {
  test('sends AWS-RunRemoteScript with the script, the comment and the output location', async () => {
    const result = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION });
    // A first invocation sends without listing: the journal says nothing was sent yet.
    expect(ssm).not.toHaveReceivedCommand(ListCommandInvocationsCommand);
    const input = ssm.commandCalls(SendCommandCommand)[0].args[0].input;
    expect(input).toEqual({
      DocumentName: 'AWS-RunRemoteScript',
      InstanceIds: [ID],
      TimeoutSeconds: 600,
      Comment: 'ppsb:run-1:pre',
      Parameters: {
        sourceType: ['S3'],
        sourceInfo: ['{"path":"https://s3.eu-west-1.amazonaws.com/assets-bucket/scripts/freeze.sh"}'],
        commandLine: ['bash freeze.sh'],
        executionTimeout: ['600'],
      },
      OutputS3BucketName: 'output-bucket',
      OutputS3KeyPrefix: 'ssm-output/run-1/pre',
    });
    expect(result).toEqual({
      commandId: 'cmd-new',
      instanceId: ID,
      status: 'Pending',
      statusDetails: 'Pending',
      responseCode: -1,
      timeoutSeconds: 600,
      outputLocation: 's3://output-bucket/ssm-output/run-1/pre',
      outputExcerpt: '',
      done: false,
      poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 5, maxSeconds: 900, expired: false },
    });
  });

  test('%EXECUTION_NAME% in the command line is the run\'s execution name, made safe for a shell (issue 15)', async () => {
    await handler({
      instanceId: ID,
      phase: 'pre',
      script: { ...pre, commandLine: 'bash fsfreeze-pre.sh --safety-thaw-seconds 2400 --run-id %EXECUTION_NAME%' },
      execution: { ...EXECUTION, name: "nightly(2)'x" },
    });
    const input = ssm.commandCalls(SendCommandCommand)[0].args[0].input;
    expect(input.Parameters!.commandLine).toEqual(['bash fsfreeze-pre.sh --safety-thaw-seconds 2400 --run-id nightly-2--x']);
  });

  test('a working directory is passed when set; no output bucket means no S3 output', async () => {
    const result = await handler({
      instanceId: ID, phase: 'post', script: { ...post, outputS3BucketName: '', outputS3KeyPrefix: '' }, execution: EXECUTION,
    });
    const input = ssm.commandCalls(SendCommandCommand)[0].args[0].input;
    expect(input.Parameters!.workingDirectory).toEqual(['/opt/app']);
    expect(input.Comment).toBe('ppsb:run-1:post');
    expect(input.OutputS3BucketName).toBeUndefined();
    expect(input.OutputS3KeyPrefix).toBeUndefined();
    expect(result.outputLocation).toBe('');
  });

  test('an empty output prefix gives <execution>/<phase>', async () => {
    await handler({ instanceId: ID, phase: 'pre', script: { ...pre, outputS3KeyPrefix: '' }, execution: EXECUTION });
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, { OutputS3KeyPrefix: 'run-1/pre' });
  });

  test('the comment is at most 100 characters', async () => {
    const execution = { ...EXECUTION, name: 'x'.repeat(120) };
    await handler({ instanceId: ID, phase: 'pre', script: pre, execution });
    expect(ssm.commandCalls(SendCommandCommand)[0].args[0].input.Comment).toHaveLength(100);
  });

  test('the intent is journaled before SendCommand and the command id right after', async () => {
    await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION });
    const updates = ddb.commandCalls(UpdateCommand);
    const send = ssm.commandCalls(SendCommandCommand)[0];
    expect(updates[0].calledBefore(send)).toBe(true);
    expect(send.calledBefore(updates[1])).toBe(true);
    expect(journal.items.get(KEY)).toMatchObject({ Pre_IntentAt: expect.any(String), Pre_ResourceId: 'cmd-new' });
  });

  test('a retried invocation with the command id journaled only looks: no listing, no second SendCommand', async () => {
    journal.items.set(KEY, { Pre_IntentAt: '2026-12-03T02:00:01.000Z', Pre_ResourceId: 'cmd-old' });
    const result = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION });
    expect(result).toMatchObject({ commandId: 'cmd-old', status: 'Pending', done: false });
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(ssm).not.toHaveReceivedCommand(ListCommandInvocationsCommand);
  });

  test('issue 15: a retried attempt sends its own command, journaled apart and marked with its attempt', async () => {
    journal.items.set(KEY, { Pre_IntentAt: '2026-12-03T02:00:01.000Z', Pre_ResourceId: 'cmd-attempt-1' });
    const result = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION, attempt: 2 });
    expect(result.commandId).toBe('cmd-new');
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, { Comment: 'ppsb:run-1:pre:2' });
    expect(journal.items.get(KEY)).toMatchObject({ Pre_ResourceId: 'cmd-attempt-1', Pre2_IntentAt: expect.any(String), Pre2_ResourceId: 'cmd-new' });
    // The same attempt invoked again (its Task retried) only looks at its command.
    ssm.resetHistory();
    const again = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION, attempt: 2 });
    expect(again.commandId).toBe('cmd-new');
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  test('issue 15: a lost answer of a retried attempt is recovered by that attempt\'s comment only', async () => {
    journal.items.set(KEY, { Pre_IntentAt: '2026-12-03T02:00:01.000Z', Pre_ResourceId: 'cmd-attempt-1', Pre3_IntentAt: '2026-12-03T02:05:01.000Z' });
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        { CommandId: 'cmd-attempt-1', Comment: 'ppsb:run-1:pre', DocumentName: 'AWS-RunRemoteScript' },
        { CommandId: 'cmd-attempt-3', Comment: 'ppsb:run-1:pre:3', DocumentName: 'AWS-RunRemoteScript' },
      ],
    });
    const result = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION, attempt: 3 });
    expect(result.commandId).toBe('cmd-attempt-3');
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  test('issue 15: a long execution name is cut, never the phase and attempt', async () => {
    await handler({ instanceId: ID, phase: 'post', script: post, execution: { ...EXECUTION, name: 'x'.repeat(120) }, attempt: 4 });
    const comment = ssm.commandCalls(SendCommandCommand)[0].args[0].input.Comment!;
    expect(comment).toHaveLength(100);
    expect(comment.endsWith(':post:4')).toBe(true);
  });

  test('an intent without an id (the answer was lost): the command is found by listing (paged), journaled, never sent again', async () => {
    journal.items.set(KEY, { Pre_IntentAt: '2026-12-03T02:00:01.000Z' });
    ssm.on(ListCommandInvocationsCommand)
      .resolvesOnce({ CommandInvocations: [] }) // not listed yet: SSM's listing lags SendCommand
      .resolvesOnce({
        CommandInvocations: [
          { CommandId: 'cmd-other-phase', Comment: 'ppsb:run-1:post', DocumentName: 'AWS-RunRemoteScript' },
          { CommandId: 'cmd-other-doc', Comment: 'ppsb:run-1:pre', DocumentName: 'AWS-RunShellScript' },
        ],
        NextToken: 't2',
      })
      .resolvesOnce({ CommandInvocations: [{ CommandId: 'cmd-old', Comment: 'ppsb:run-1:pre', DocumentName: 'AWS-RunRemoteScript' }] });
    const result = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION });
    expect(result.commandId).toBe('cmd-old');
    expect(ssm).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 3);
    expect(ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { NextToken: 't2' });
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(journal.items.get(KEY)).toMatchObject({ Pre_ResourceId: 'cmd-old' });
  });

  test('InvokedAfter has the form of the API reference\'s example (whole seconds, Z), not before the execution started', async () => {
    journal.items.set(KEY, { Pre_IntentAt: '2026-12-03T02:00:01.000Z' });
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ CommandId: 'cmd-old', Comment: 'ppsb:run-1:pre', DocumentName: 'AWS-RunRemoteScript' }] });
    await handler({ instanceId: ID, phase: 'pre', script: pre, execution: { ...EXECUTION, startTime: '2026-12-03T02:00:00.789Z' } });
    expect(ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, {
      InstanceId: ID,
      Filters: [{ key: 'InvokedAfter', value: '2026-12-03T02:00:00Z' }],
    });
  });

  test('an intent without an id and nothing listed after the bounded looks: Failed, fate unknown, nothing sent', async () => {
    journal.items.set(KEY, { Pre_IntentAt: '2026-12-03T02:00:01.000Z' });
    const result = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION });
    expect(ssm).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, RECOVERY_LOOKS);
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(result).toMatchObject({ commandId: '', status: 'Failed', statusDetails: COMMAND_FATE_UNKNOWN, done: true });
    expect(result.outputExcerpt).toContain('fate is unknown');
  }, 20_000);

  test('a refused SendCommand (4xx) forgets the intent: the retry sends, once', async () => {
    ssm.on(SendCommandCommand).rejectsOnce(throttling()).resolves({ Command: { CommandId: 'cmd-new' } });
    await expect(handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION })).rejects.toMatchObject({ name: 'TransientError' });
    expect(journal.items.get(KEY)?.Pre_IntentAt).toBeUndefined();
    const result = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION });
    expect(result.commandId).toBe('cmd-new');
    expect(ssm).toHaveReceivedCommandTimes(SendCommandCommand, 2);
    expect(ssm).not.toHaveReceivedCommand(ListCommandInvocationsCommand);
  });

  test('an answer lost on the way back (5xx): the intent stays, so the retry looks instead of sending', async () => {
    ssm.on(SendCommandCommand).rejectsOnce(awsError('InternalServerError', 'internal', { $fault: 'server', $metadata: { httpStatusCode: 500 } }));
    await expect(handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION })).rejects.toMatchObject({ name: 'TransientError' });
    expect(journal.items.get(KEY)).toMatchObject({ Pre_IntentAt: expect.any(String) });
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ CommandId: 'cmd-lost', Comment: 'ppsb:run-1:pre', DocumentName: 'AWS-RunRemoteScript' }] });
    const result = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION });
    expect(result.commandId).toBe('cmd-lost');
    expect(ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  test('throttling: TransientError', async () => {
    ssm.on(SendCommandCommand).rejects(throttling());
    await expect(handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION })).rejects.toMatchObject({ name: 'TransientError' });
  });

  test('a permanent error keeps its code', async () => {
    ssm.on(SendCommandCommand).rejects(awsError('InvalidInstanceId', 'Instances not in a valid state'));
    await expect(handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION })).rejects.toMatchObject({
      name: 'InvalidInstanceId', message: expect.stringContaining('SendCommand'),
    });
  });
});
