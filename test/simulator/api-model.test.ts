import * as fs from 'fs';
import * as path from 'path';
import { BackupClient, StartBackupJobCommand } from '@aws-sdk/client-backup';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { SFNClient, SendTaskFailureCommand } from '@aws-sdk/client-sfn';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { compilePattern, decodeRequest, modelFor, validateInput, validateRequest } from './api-model';
import { Dynalite, FakeServer, RunningFakes, startFakes } from './fakes';
import { FakeRequest } from './fakes/http';
import { sfnHandler } from './fakes/sfn';
import { realProcess } from './lambda';
import { TokenRegistry } from './tokens';
import { World } from './world';
import { Harness, newInstanceIds } from '../helpers/harness';

const rules = (v: Array<{ rule: string }>) => v.map((x) => x.rule);

function form(fields: Record<string, string>): FakeRequest {
  return {
    method: 'POST',
    path: '/',
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ Version: '2016-11-15', ...fields }).toString(),
  };
}

function rest(method: string, url: string, body?: unknown): FakeRequest {
  const u = new URL(url, 'http://127.0.0.1');
  return { method, path: decodeURIComponent(u.pathname), query: u.searchParams, headers: {}, body: body === undefined ? '' : JSON.stringify(body) };
}

const ID = 'i-0123456789abcdef0';

describe('the committed models', () => {
  test.each(['ec2', 'ssm', 'backup', 'sfn'])('%s records its botocore version and apiVersion, and every pattern compiles', (service) => {
    const m = modelFor(service)!;
    expect(m.botocoreVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(m.metadata.apiVersion).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(m.source).toContain(m.metadata.apiVersion);
    for (const s of Object.values(m.shapes)) if (s.pattern !== undefined) expect(() => compilePattern(s.pattern!)).not.toThrow();
  });

  test('the models stay small: only the operations the stand-ins serve', () => {
    for (const f of ['ec2', 'ssm', 'backup', 'sfn']) {
      expect(fs.statSync(path.join(__dirname, 'models', `${f}.json`)).size).toBeLessThan(40_000);
    }
    expect(Object.keys(modelFor('ssm')!.operations).sort()).toEqual(
      ['CancelCommand', 'DescribeInstanceInformation', 'GetCommandInvocation', 'ListCommandInvocations', 'ListCommands', 'SendCommand']);
  });

  test('patterns match the whole value, as AWS applies them (Java matches()), and Java-only syntax is translated', () => {
    const instanceId = compilePattern('(^i-(\\w{8}|\\w{17})$)|(^mi-\\w{17}$)');
    expect(instanceId.test(ID)).toBe(true);
    expect(instanceId.test('i-083e1601960282cd')).toBe(false); // 16 characters: aws/aws-cli#7048
    const vault = compilePattern('[a-zA-Z0-9\\-\\_]{2,50}'); // unanchored in the model: still a whole-value match
    expect(vault.test('my_vault-1')).toBe(true);
    expect(vault.test('my vault')).toBe(false);
    expect(compilePattern('\\A[a-z]+\\z').test('abc')).toBe(true);
    const unicode = compilePattern('[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*');
    expect(unicode.test('Ünïcode 1')).toBe(true);
    expect(unicode.test('no;semicolon')).toBe(false);
  });
});

describe('SSM (awsJson1_1)', () => {
  const send = (p: Record<string, unknown>) => validateInput('ssm', 'SendCommand', { DocumentName: 'AWS-RunRemoteScript', InstanceIds: [ID], ...p });

  test('accepts a well-formed SendCommand', () => {
    expect(send({ Comment: 'ppsb:nightly:pre', TimeoutSeconds: 3600, Parameters: { sourceType: ['S3'] }, OutputS3BucketName: 'bucket' })).toEqual([]);
  });

  test('refuses a missing required member, a bad pattern, a too long string, out-of-range numbers, too many list items', () => {
    expect(rules(validateInput('ssm', 'SendCommand', { InstanceIds: [ID] }))).toEqual(['required']);
    const pattern = send({ InstanceIds: ['i-083e1601960282cd'] });
    expect(pattern).toEqual([expect.objectContaining({ rule: 'pattern', path: 'instanceIds.1.member' })]);
    expect(pattern[0].message).toBe("Value 'i-083e1601960282cd' at 'instanceIds.1.member' failed to satisfy constraint: "
      + 'Member must satisfy regular expression pattern: (^i-(\\w{8}|\\w{17})$)|(^mi-\\w{17}$)');
    expect(rules(send({ Comment: 'x'.repeat(101) }))).toEqual(['length']);
    expect(rules(send({ TimeoutSeconds: 29 }))).toEqual(['range']);
    expect(rules(send({ TimeoutSeconds: 2592001 }))).toEqual(['range']);
    expect(rules(send({ TimeoutSeconds: '3600' }))).toEqual(['type']);
    expect(rules(send({ InstanceIds: Array.from({ length: 51 }, () => ID) }))).toEqual(['length']);
    expect(rules(send({ Bogus: 1 }))).toEqual(['unknown']);
  });

  test('refuses a bad enum, a too short plugin name and an out-of-range MaxResults', () => {
    expect(rules(validateInput('ssm', 'ListCommandInvocations', { Filters: [{ key: 'Instance', value: 'x' }] }))).toEqual(['enum']);
    expect(rules(validateInput('ssm', 'ListCommandInvocations', { Filters: [] }))).toEqual(['length']);
    expect(rules(validateInput('ssm', 'ListCommandInvocations', { MaxResults: 51 }))).toEqual(['range']);
    expect(rules(validateInput('ssm', 'GetCommandInvocation', { CommandId: 'c'.repeat(36), InstanceId: ID, PluginName: 'run' }))).toEqual(['length']);
    expect(validateInput('ssm', 'GetCommandInvocation', { CommandId: 'c'.repeat(36), InstanceId: ID, PluginName: 'runShellScript' })).toEqual([]);
    expect(rules(validateInput('ssm', 'DescribeInstanceInformation', { MaxResults: 4 }))).toEqual(['range']);
  });

  test('decodes the operation from X-Amz-Target', () => {
    const req: FakeRequest = { method: 'POST', path: '/', query: new URLSearchParams(), headers: { 'x-amz-target': 'AmazonSSM.CancelCommand' }, body: '{}' };
    expect(validateRequest('ssm', req)).toEqual({ operation: 'CancelCommand', violations: [expect.objectContaining({ rule: 'required', path: 'commandId' })] });
    const unknown = validateRequest('ssm', { ...req, headers: { 'x-amz-target': 'AmazonSSM.DeleteDocument' } });
    expect(rules(unknown.violations)).toEqual(['operation']);
  });
});

describe('EC2 (query protocol)', () => {
  test('decodes flattened lists and nested filters into the model structure', () => {
    const d = decodeRequest('ec2', form({
      'Action': 'DescribeInstances',
      'Filter.1.Name': 'tag:backup',
      'Filter.1.Value.1': 'yes',
      'Filter.1.Value.2': 'true',
      'Filter.2.Name': 'instance-state-name',
      'Filter.2.Value.1': 'running',
      'MaxResults': '50',
      'NextToken': 'abc',
    }));
    expect(d).toEqual({
      operation: 'DescribeInstances',
      input: {
        Filters: [{ Name: 'tag:backup', Values: ['yes', 'true'] }, { Name: 'instance-state-name', Values: ['running'] }],
        MaxResults: 50,
        NextToken: 'abc',
      },
      violations: [],
    });
    expect(validateRequest('ec2', form({ 'Action': 'StopInstances', 'InstanceId.1': ID, 'InstanceId.2': 'i-1234567a' })).violations).toEqual([]);
  });

  test('refuses a missing required list, a value of the wrong type and an unknown parameter', () => {
    expect(validateRequest('ec2', form({ Action: 'StopInstances' })).violations).toEqual([expect.objectContaining({ rule: 'required', path: 'instanceIds' })]);
    expect(rules(validateRequest('ec2', form({ Action: 'DescribeInstances', MaxResults: 'many' })).violations)).toEqual(['type']);
    expect(rules(validateRequest('ec2', form({ 'Action': 'StartInstances', 'InstanceId.1': ID, 'Force': 'true' })).violations)).toEqual(['unknown']);
    expect(rules(validateRequest('ec2', form({ 'Action': 'StopInstances', 'InstanceId.1': ID, 'Force': 'yes' })).violations)).toEqual(['type']);
    expect(rules(validateRequest('ec2', form({ 'Action': 'DescribeInstances', 'Filter.1.Nam': 'x' })).violations)).toEqual(['unknown']);
  });
});

describe('AWS Backup (restJson1)', () => {
  const start = { BackupVaultName: 'vault_1', ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${ID}`, IamRoleArn: 'arn:aws:iam::123456789012:role/r' };

  test('maps URI labels, the query string and the body', () => {
    expect(decodeRequest('backup', rest('GET', '/backup-jobs/ABCD-1234'))).toEqual({ operation: 'DescribeBackupJob', input: { BackupJobId: 'ABCD-1234' }, violations: [] });
    const list = decodeRequest('backup', rest('GET', `/backup-jobs/?resourceArn=${encodeURIComponent(start.ResourceArn)}&createdAfter=2026-01-01T00%3A00%3A00.000Z&maxResults=10`));
    expect(list).toEqual({ operation: 'ListBackupJobs', input: { ByResourceArn: start.ResourceArn, ByCreatedAfter: Date.parse('2026-01-01T00:00:00Z') / 1000, MaxResults: 10 }, violations: [] });
    expect(validateRequest('backup', rest('PUT', '/backup-jobs', { ...start, IdempotencyToken: 't', StartWindowMinutes: 60 })).violations).toEqual([]);
  });

  test('refuses a missing required member, a bad pattern, a bad enum, an out-of-range number, a wrong type, an unknown key', () => {
    const bad = (body: unknown) => rules(validateRequest('backup', rest('PUT', '/backup-jobs', body)).violations);
    expect(bad({ ...start, IamRoleArn: undefined })).toEqual(['required']);
    expect(bad({ ...start, BackupVaultName: 'my vault' })).toEqual(['pattern']);
    expect(bad({ ...start, BackupVaultName: 'v' })).toEqual(['pattern']);
    expect(bad({ ...start, StartWindowMinutes: 'sixty' })).toEqual(['type']);
    expect(bad({ ...start, Index: 'ON' })).toEqual(['enum']);
    expect(bad({ ...start, BackupOptions: { WindowsVSS: 'enabled!' } })).toEqual(['pattern']);
    expect(bad({ ...start, Vault: 'x' })).toEqual(['unknown']);
    const list = (q: string) => rules(validateRequest('backup', rest('GET', `/backup-jobs/?${q}`)).violations);
    expect(list('state=DONE')).toEqual(['enum']);
    expect(list('maxResults=0')).toEqual(['range']);
    expect(list('accountId=12345')).toEqual(['pattern']);
    expect(list('createdAfter=1767225600')).toEqual(['type']);
    expect(list('resource=x')).toEqual(['unknown']);
  });
});

describe('Step Functions (awsJson1_0)', () => {
  test('SendTaskSuccess needs output; SendTaskFailure error is at most 256 characters', () => {
    expect(validateInput('sfn', 'SendTaskSuccess', { taskToken: 't', output: '{}' })).toEqual([]);
    expect(rules(validateInput('sfn', 'SendTaskSuccess', { taskToken: 't' }))).toEqual(['required']);
    expect(rules(validateInput('sfn', 'SendTaskFailure', { taskToken: 't', error: 'e'.repeat(257) }))).toEqual(['length']);
    expect(rules(validateInput('sfn', 'SendTaskHeartbeat', { taskToken: '' }))).toEqual(['length']);
  });
});

describe('the stand-ins answer AWS\'s validation error and record the violation (real SDK clients)', () => {
  const credentials = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };
  const config = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  let world: World;
  let fakes: RunningFakes;

  beforeEach(async () => {
    world = new World();
    world.addInstance({ id: ID });
    fakes = await startFakes(world);
  });
  afterEach(async () => fakes.stop());

  test('SSM: ValidationException, and the stand-in never sees the request', async () => {
    const ssm = new SSMClient(config(fakes.ssm));
    try {
      await expect(ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [ID], TimeoutSeconds: 10 })))
        .rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/^1 validation error detected: Value '10' at 'timeoutSeconds'/) });
    } finally {
      ssm.destroy();
    }
    expect(fakes.modelViolations()).toEqual([expect.objectContaining({ service: 'ssm', operation: 'SendCommand', rule: 'range', path: 'timeoutSeconds' })]);
    expect(world.calls).toEqual([]);
    expect(world.commandsFor(ID)).toEqual([]);
  });

  test('EC2: MissingParameter for StopInstances without an instance id', async () => {
    const ec2 = new EC2Client(config(fakes.ec2));
    try {
      await expect(ec2.send(new StopInstancesCommand({ InstanceIds: [] })))
        .rejects.toMatchObject({ name: 'MissingParameter', message: 'The request must contain the parameter InstanceId' });
    } finally {
      ec2.destroy();
    }
    expect(rules(fakes.modelViolations())).toEqual(['required']);
    expect(world.instanceStates()[ID]).toBe('running');
  });

  test('AWS Backup: InvalidParameterValueException for a vault name AWS refuses', async () => {
    const backup = new BackupClient(config(fakes.backup));
    try {
      await expect(backup.send(new StartBackupJobCommand({
        BackupVaultName: 'my vault', ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${ID}`, IamRoleArn: 'arn:aws:iam::123456789012:role/r',
      }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    } finally {
      backup.destroy();
    }
    expect(rules(fakes.modelViolations())).toEqual(['pattern']);
    expect(world.backupJobsFor(ID)).toEqual([]);
  });

  test('Step Functions: ValidationException for an error name longer than 256 characters', async () => {
    const server = await FakeServer.start('sfn', sfnHandler(world, new TokenRegistry()));
    const sfn = new SFNClient(config(server.url));
    try {
      await expect(sfn.send(new SendTaskFailureCommand({ taskToken: 'token', error: 'E'.repeat(257) }))).rejects.toMatchObject({ name: 'ValidationException' });
    } finally {
      sfn.destroy();
      await server.stop();
    }
    expect(rules(server.modelViolations)).toEqual(['length']);
  });

  test('DynamoDB is dynalite, which validates requests itself (no model needed)', async () => {
    const db = await Dynalite.start();
    const client = new DynamoDBClient(config(db.url));
    try {
      await expect(client.send(new PutItemCommand({ TableName: 'ab', Item: { pk: { S: 'x' } } })))
        .rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/tableName.*length greater than or equal to 3/) });
      await expect(client.send(new PutItemCommand({ TableName: 'audit', Item: { pk: { S: 'x' } }, ReturnValues: 'EVERYTHING' as any })))
        .rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/returnValues.*enum value set/) });
    } finally {
      client.destroy();
      await db.stop();
    }
  });
});

describe('end to end: a handler request that breaks the model fails the simulated run', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: { tagKey: 'backup-job-pre-post-script', tagValue: 'true' } });
  }, 120_000);
  afterAll(async () => h?.stop());

  test('a vault name AWS refuses: the handler records the refusal, the run still fails the test', async () => {
    const [id] = newInstanceIds(1);
    // The handlers read their settings per invocation: give them a vault name AWS Backup's model refuses.
    const saved = realProcess.env.SETTINGS;
    realProcess.env.SETTINGS = JSON.stringify({ ...h.settings, backupVaultName: 'not a vault!' });
    try {
      await expect(h.run({ instances: [{ id }] })).rejects.toThrow(
        /requests that AWS's API models refuse[\s\S]*backup:StartBackupJob pattern at backupVaultName: Value 'not a vault!'/);
    } finally {
      realProcess.env.SETTINGS = saved;
    }
    expect(h.sim.modelViolations).toEqual([expect.objectContaining({ service: 'backup', operation: 'StartBackupJob', rule: 'pattern' })]);
    // The handler swallowed AWS's answer: without the model check the run would have ended as an ordinary failure.
    expect(h.sim.world.backupJobsFor(id)).toEqual([]);
  }, 120_000);

  test('a well-formed run records no violation', async () => {
    const before = h.sim.modelViolations.length;
    const run = await h.run({ instances: newInstanceIds(2).map((id) => ({ id })) });
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.modelViolations).toEqual([]);
    expect(h.sim.modelViolations.length).toBe(before);
  }, 120_000);
});
