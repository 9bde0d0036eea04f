import { ListCommandInvocationsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type ScriptRun } from '../../../src/contract/settings';
import { handler } from '../../../src/functions/send-script/send-script.lambda';
import { dlmExecutionId } from '../../../src/lambda-shared/script-command';
import { awsError, EXECUTION, runConfig, withEnvironment } from '../../helpers/handler-fixtures';
import { FakeJournal } from '../../helpers/ssm-fixtures';

/** Issue 15: send-script with a Command document (BackupScript.fromSsmDocument) and the CloudWatch output group. */
const ssm = mockClient(SSMClient);
const ddb = mockClient(DynamoDBDocumentClient);
const ID = 'i-0123456789abcdef0';
const SHARED = 'arn:aws:ssm:eu-west-1:210987654321:document/Shared-FreezeThaw';
const document = (overrides: Partial<NonNullable<ScriptRun['document']>> = {}): ScriptRun => ({
  ...runConfig().preScript,
  bucketName: '',
  key: '',
  sourceS3Path: '',
  commandLine: '',
  workingDirectory: '',
  outputS3BucketName: '',
  outputS3KeyPrefix: '',
  document: { name: SHARED, version: '', parameters: { mountPoints: ['/data'] }, dlmConvention: true, ...overrides },
  outputLogGroupName: 'Consumer-AppBackupScriptOutputLogs-1A2B',
});
let journal: FakeJournal;

withEnvironment({ AUDIT_TABLE_NAME: 'audit-table' });

beforeEach(() => {
  ssm.reset();
  ddb.reset();
  journal = new FakeJournal();
  ddb.on(UpdateCommand).callsFake((input) => journal.update(input));
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-new' } });
});

describe('send-script with a Command document', () => {
  test.each([['pre', 'pre-script'], ['post', 'post-script']] as const)('%s: the document as given, DLM\'s command %s and executionId, the user\'s parameters, the output group', async (phase, command) => {
    await handler({ instanceId: ID, phase, script: document(), execution: EXECUTION });
    expect(ssm.commandCalls(SendCommandCommand)[0].args[0].input).toEqual({
      DocumentName: SHARED,
      InstanceIds: [ID],
      TimeoutSeconds: 600,
      Comment: `ppsb:run-1:${phase}`,
      Parameters: { mountPoints: ['/data'], command: [command], executionId: [dlmExecutionId(EXECUTION.id, ID)] },
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: 'Consumer-AppBackupScriptOutputLogs-1A2B' },
    });
  });

  test('a pinned version is sent; without the convention only the user\'s parameters', async () => {
    await handler({ instanceId: ID, phase: 'pre', script: document({ version: '4', dlmConvention: false }), execution: EXECUTION });
    const input = ssm.commandCalls(SendCommandCommand)[0].args[0].input;
    expect(input).toMatchObject({ DocumentVersion: '4', Parameters: { mountPoints: ['/data'] } });
    expect(input.Parameters).not.toHaveProperty('command');
  });

  test('InvalidDocument (not shared with the account): refused for certain, the error names the document', async () => {
    ssm.on(SendCommandCommand).rejects(awsError('InvalidDocument', 'not shared'));
    await expect(handler({ instanceId: ID, phase: 'pre', script: document(), execution: EXECUTION })).rejects.toThrow(/Shared-FreezeThaw/);
  });

  test('a lost answer: the command is found again by its comment and this document, listed by name or ARN', async () => {
    ssm.on(SendCommandCommand).rejects(awsError('InternalServerError', 'lost', { $fault: 'server', $metadata: { httpStatusCode: 500 } }));
    await expect(handler({ instanceId: ID, phase: 'pre', script: document(), execution: EXECUTION })).rejects.toThrow();
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        { CommandId: 'cmd-other', InstanceId: ID, Comment: 'ppsb:run-1:pre', DocumentName: 'AWS-RunRemoteScript' },
        { CommandId: 'cmd-lost', InstanceId: ID, Comment: 'ppsb:run-1:pre', DocumentName: 'Shared-FreezeThaw' },
      ],
    });
    const result = await handler({ instanceId: ID, phase: 'pre', script: document(), execution: EXECUTION });
    expect(result.commandId).toBe('cmd-lost');
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });
});
