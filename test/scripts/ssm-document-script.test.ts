import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { BackupScript, ScriptPlatform } from '../../src';
import { dlmExecutionId, scriptCommand } from '../../src/lambda-shared/script-command';
import { toConfiguredScript } from '../../src/pre-post-script-backup/settings';

function bind(script: BackupScript, stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } })) {
  return { stack, config: script.bind(new Construct(stack, 'Scope')) };
}

describe('BackupScript.fromSsmDocument', () => {
  test('a document of the account, by name: DLM convention on, no S3 script, 10 minutes, Linux', () => {
    const { stack, config } = bind(BackupScript.fromSsmDocument('AppTeam-FreezeThaw'));
    expect(config.bucket).toBeUndefined();
    expect(config.commandLine).toBeUndefined();
    expect(config.platform).toBe(ScriptPlatform.LINUX);
    expect(config.timeout.toSeconds()).toBe(600);
    expect(config.document).toMatchObject({ documentName: 'AppTeam-FreezeThaw', parameters: {}, dlmConvention: true });
    expect(stack.resolve(config.document!.documentArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:123456789012:document/AppTeam-FreezeThaw']],
    });
  });

  test('AWS\'s documents (reserved prefixes aws, amazon, amzn) have no account in their ARN; an ARN is taken as given', () => {
    for (const name of ['AWSEC2-CreateVssSnapshot', 'AWSSystemsManagerSAP-CreateDLMSnapshotForSAPHANA', 'AmazonCloudWatch-ManageAgent']) {
      const { stack, config } = bind(BackupScript.fromSsmDocument(name));
      expect(JSON.stringify(stack.resolve(config.document!.documentArn))).toContain(`:ssm:eu-west-1::document/${name}`);
    }
    const shared = 'arn:aws:ssm:eu-west-1:210987654321:document/Shared-Thaw';
    expect(bind(BackupScript.fromSsmDocument(shared)).config.document).toMatchObject({ documentName: shared, documentArn: shared });
  });

  test('a CfnDocument of the stack, by its ref: a document of the stack\'s account', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const doc = new ssm.CfnDocument(stack, 'Doc', { documentType: 'Command', content: { schemaVersion: '2.2', mainSteps: [] } });
    const { config } = bind(BackupScript.fromSsmDocument(doc.ref), stack);
    expect(JSON.stringify(stack.resolve(config.document!.documentArn))).toContain(':ssm:eu-west-1:123456789012:document/');
  });

  test('options: parameters, version, timeout, platform, convention off', () => {
    const { config } = bind(BackupScript.fromSsmDocument('Db-Quiesce', {
      dlmConvention: false, parameters: { databases: ['orders', 'billing'] }, documentVersion: '3', timeout: Duration.minutes(2), platform: ScriptPlatform.WINDOWS,
    }));
    expect(config.document).toMatchObject({ dlmConvention: false, parameters: { databases: ['orders', 'billing'] }, documentVersion: '3' });
    expect(config.platform).toBe(ScriptPlatform.WINDOWS);
    expect(config.timeout.toSeconds()).toBe(120);
    expect(toConfiguredScript(config)).toMatchObject({
      bucketName: '', key: '', commandLine: '', document: { name: 'Db-Quiesce', version: '3', dlmConvention: false, parameters: { databases: ['orders', 'billing'] } },
    });
  });

  test.each([
    ['ab', /3 to 128/],
    ['has space', /3 to 128/],
    ['x'.repeat(129), /3 to 128/],
    ['arn:aws:ssm:eu-west-1:210987654321:automation-definition/X', /not a document ARN/],
    ['arn:aws:ssm:eu-west-1:2109:document/X-Doc', /not a document ARN/],
    [`arn:aws:ssm:eu-west-1:210987654321:document/${'x'.repeat(100)}`, /not a document ARN/],
  ])('refuses the document %s with a scoped error', (doc, error) => {
    expect(() => BackupScript.fromSsmDocument(doc)).toThrow(error);
  });

  test('refuses DLM\'s parameters when the convention sets them, bad names and versions, a timeout out of range', () => {
    expect(() => BackupScript.fromSsmDocument('Doc-1', { parameters: { command: ['pre-script'] } })).toThrow(/set by the construct/);
    expect(() => BackupScript.fromSsmDocument('Doc-1', { parameters: { executionId: ['None'] } })).toThrow(/set by the construct/);
    expect(() => BackupScript.fromSsmDocument('Doc-1', { dlmConvention: false, parameters: { command: ['pre-script'] } })).not.toThrow();
    expect(() => BackupScript.fromSsmDocument('Doc-1', { parameters: { 'bad name': ['x'] } })).toThrow(/parameter name/);
    expect(() => BackupScript.fromSsmDocument('Doc-1', { documentVersion: 'latest' })).toThrow(/documentVersion/);
    expect(() => BackupScript.fromSsmDocument('Doc-1', { documentVersion: '$LATEST' })).not.toThrow();
    expect(() => BackupScript.fromSsmDocument('Doc-1', { timeout: Duration.seconds(10) })).toThrow(/timeout/);
  });
});

describe('the command sent for a document (src/lambda-shared/script-command.ts)', () => {
  const execution = { id: 'arn:aws:states:eu-west-1:123456789012:execution:sm:run-1', name: 'run-1', startTime: '2026-01-01T00:00:00Z' };
  const script = {
    enabled: true,
    bucketName: '',
    key: '',
    sourceS3Path: '',
    commandLine: '',
    workingDirectory: '',
    timeoutSeconds: 600,
    platform: 'Linux' as const,
    outputS3BucketName: '',
    outputS3KeyPrefix: '',
    document: { name: 'Doc-1', version: '', parameters: { mountPoints: ['/data'] }, dlmConvention: true },
    retries: 0,
  };

  test('pre-script, post-script and dry-run: DLM\'s command value, one executionId (a UUID) per run and instance', () => {
    const stages = (['pre', 'post', 'dry-run'] as const).map((s) => scriptCommand(script, s, execution, 'i-1'));
    expect(stages.map((c) => c.parameters.command)).toEqual([['pre-script'], ['post-script'], ['dry-run']]);
    expect(new Set(stages.map((c) => c.parameters.executionId[0])).size).toBe(1);
    expect(stages[0].parameters.executionId[0]).toMatch(/^[a-f0-9]{8}-[a-f0-9]{4}-5[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}$/);
    expect(dlmExecutionId(execution.id, 'i-2')).not.toBe(dlmExecutionId(execution.id, 'i-1'));
    expect(stages[0]).toEqual({ documentName: 'Doc-1', parameters: { mountPoints: ['/data'], command: ['pre-script'], executionId: [dlmExecutionId(execution.id, 'i-1')] } });
  });

  test('convention off: the user\'s parameters only; a version is sent when set', () => {
    const c = scriptCommand({ ...script, document: { ...script.document, dlmConvention: false, version: '2' } }, 'pre', execution, 'i-1');
    expect(c).toEqual({ documentName: 'Doc-1', documentVersion: '2', parameters: { mountPoints: ['/data'] } });
  });
});
