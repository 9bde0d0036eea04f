import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PrePostScriptBackup, PrePostScriptBackupProps } from '../../src';
import {
  ACCOUNT, evaluate, hasAction, NamedPolicy, PolicyDocument, REGION, RequestResource, synthesizeIam, SynthesizedIam, SynthesizedRole, widened,
} from '../helpers/iam-harness';
import { everyOption, fullProps } from '../helpers/stacks';

/**
 * `encryptionKey`: the consumer's customer-managed key encrypts every resource of the construct that stores data,
 * its policy lets the AWS services that write with it do so, the construct's roles may use it, and a key the
 * construct cannot use is rejected before anything is created.
 */

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;

/** A consumer stack with its own key (created in the stack, as a platform team would) and the construct using it. */
function keyedStack(props: PrePostScriptBackupProps = everyOption()) {
  const app = new App();
  const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
  const key = new kms.Key(stack, 'TeamKey', { enableKeyRotation: true });
  const backup = new PrePostScriptBackup(stack, 'AppBackup', { ...props, encryptionKey: key });
  return { stack, key, backup, template: Template.fromStack(stack) };
}

const keyRef = (template: Template) => {
  const keys = Object.keys(template.findResources('AWS::KMS::Key'));
  expect(keys).toHaveLength(1);
  return { 'Fn::GetAtt': [keys[0], 'Arn'] };
};

/** Every resource of `type` in the template, by logical id. */
const resources = (template: Template, type: string) => Object.entries(template.findResources(type)) as [string, any][];

describe('with encryptionKey, the key encrypts every resource of the construct that stores data', () => {
  const { template } = keyedStack();
  const key = keyRef(template);

  test('the audit table (DynamoDB, customer managed)', () => {
    const tables = resources(template, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    expect(tables[0][1].Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: key });
  });

  test('every log group (the state machine\'s and every function\'s)', () => {
    const groups = resources(template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(14);
    expect(groups.map(([id]) => id)).toContainEqual(expect.stringMatching(/^AppBackupStateMachineLogs/));
    for (const [id, group] of groups) {
      expect({ id, key: group.Properties.KmsKeyId }).toEqual({ id, key });
    }
  });

  test('the notification topic it creates', () => {
    const topics = resources(template, 'AWS::SNS::Topic');
    expect(topics).toHaveLength(1);
    expect(topics[0][1].Properties.KmsMasterKeyId).toEqual(key);
  });

  test('the dead-letter queue (SSE-KMS, not SSE-SQS)', () => {
    const queues = resources(template, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(1);
    expect(queues[0][1].Properties.KmsMasterKeyId).toEqual(key);
    expect(queues[0][1].Properties.SqsManagedSseEnabled).toBeUndefined();
  });

  test('every function\'s environment variables', () => {
    const functions = resources(template, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(13);
    for (const [id, fn] of functions) {
      expect({ id, key: fn.Properties.KmsKeyArn }).toEqual({ id, key });
    }
  });

  test('the vault it creates', () => {
    const vaults = resources(template, 'AWS::Backup::BackupVault');
    expect(vaults).toHaveLength(1);
    expect(vaults[0][1].Properties.EncryptionKeyArn).toEqual(key);
  });

  test('every grant of the key to a role of the construct names the key, never "*"', () => {
    const grants = resources(template, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[])
      .filter(st => [st.Action].flat().some((a: string) => a.startsWith('kms:')));
    expect(grants.length).toBeGreaterThanOrEqual(14);
    for (const grant of grants) {
      expect(grant.Resource).toEqual(key);
      expect([grant.Action].flat().every((a: string) => ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'].includes(a))).toBe(true);
    }
  });

  test('the construct creates no key of its own (no LogsKey, NotificationsKey, BackupVaultKey)', () => {
    expect(resources(template, 'AWS::KMS::Key').map(([id]) => id)).toEqual([expect.stringMatching(/^TeamKey/)]);
  });
});

describe('without encryptionKey, nothing changes', () => {
  const template = Template.fromStack(new PrePostScriptBackup(
    new Stack(new App(), 'Consumer', { env: { account: ACCOUNT, region: REGION } }), 'AppBackup', everyOption()).node.scope as Stack);

  test('the AWS managed keys for the table and the environments, SSE-SQS for the queue, the construct\'s own keys elsewhere', () => {
    expect(resources(template, 'AWS::DynamoDB::Table')[0][1].Properties.SSESpecification).toEqual({ SSEEnabled: true });
    for (const [, fn] of resources(template, 'AWS::Lambda::Function')) {
      expect(fn.Properties.KmsKeyArn).toBeUndefined();
    }
    expect(resources(template, 'AWS::SQS::Queue')[0][1].Properties).toEqual(expect.objectContaining({ SqsManagedSseEnabled: true }));
    expect(resources(template, 'AWS::KMS::Key').map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort())
      .toEqual(['AppBackupBackupVaultKey', 'AppBackupLogsKey', 'AppBackupNotificationsKey']);
  });
});

describe('the key policy', () => {
  const statements = (template: Template) => {
    const [[, key]] = resources(template, 'AWS::KMS::Key');
    return key.Properties.KeyPolicy.Statement as any[];
  };
  const bySid = (template: Template, sid: string) => statements(template).find(s => s.Sid === sid);

  test('lets CloudWatch Logs of the construct\'s Region use the key for the log groups of this account and Region only', () => {
    const { template } = keyedStack();
    expect(bySid(template, 'PrePostScriptBackupCloudWatchLogs')).toEqual({
      Sid: 'PrePostScriptBackupCloudWatchLogs',
      Effect: 'Allow',
      Principal: { Service: { 'Fn::Join': ['', [`logs.${REGION}.`, { Ref: 'AWS::URLSuffix' }]] } },
      Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      Resource: '*',
      Condition: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:logs:${REGION}:${ACCOUNT}:log-group:*`]],
          },
        },
      },
    });
  });

  test('lets CloudWatch alarms publish to the topic it encrypts, and EventBridge send to the dead-letter queue', () => {
    const { template } = keyedStack();
    expect(bySid(template, 'PrePostScriptBackupCloudWatchAlarmsPublish')).toEqual(expect.objectContaining({
      Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
    }));
    expect(bySid(template, 'PrePostScriptBackupEventBridgeDeadLetters')).toEqual(expect.objectContaining({
      Principal: { Service: 'events.amazonaws.com' }, Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
    }));
  });

  test('opens the key to CloudWatch alarms only when the key encrypts a topic the construct creates', () => {
    const { template } = keyedStack(fullProps());
    expect(bySid(template, 'PrePostScriptBackupCloudWatchAlarmsPublish')).toBeUndefined();
    const withOwnTopic = (() => {
      const app = new App();
      const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
      const key = new kms.Key(stack, 'TeamKey', { enableKeyRotation: true });
      const topic = new sns.Topic(stack, 'TeamTopic', { masterKey: key });
      new PrePostScriptBackup(stack, 'AppBackup', { ...fullProps(), notificationTopic: topic, encryptionKey: key });
      return Template.fromStack(stack);
    })();
    expect(bySid(withOwnTopic, 'PrePostScriptBackupCloudWatchAlarmsPublish')).toBeUndefined();
  });

  test('an imported key is left alone, and synthesis warns with the statements to add', () => {
    const app = new App();
    const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
    new PrePostScriptBackup(stack, 'AppBackup', everyOption({ encryptionKey: kms.Key.fromKeyArn(stack, 'Imported', KEY_ARN) }));
    const warnings = Annotations.fromStack(stack).findWarning('/Consumer/AppBackup', Match.stringLikeRegexp('encryptionKey is imported'));
    expect(warnings).toHaveLength(1);
    const text = String(warnings[0].entry.data);
    for (const expected of ['logs.eu-west-1.', 'kms:EncryptionContext:aws:logs:arn', 'cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      expect(text).toContain(expected);
    }
    expect(Template.fromStack(stack).findResources('AWS::KMS::Key')).toEqual({});
  });

  test('a key the construct owns no statement of is not warned about', () => {
    const { stack } = keyedStack();
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('encryptionKey is imported'))).toEqual([]);
  });
});

describe('a key the construct cannot use is rejected before anything is created', () => {
  const rejects = (key: (stack: Stack) => kms.IKey, message: RegExp) => {
    const app = new App();
    const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
    const encryptionKey = key(stack);
    expect(() => new PrePostScriptBackup(stack, 'AppBackup', { ...fullProps(), encryptionKey })).toThrow(message);
    // Nothing of the construct was created.
    expect(stack.node.findChild('AppBackup').node.children).toEqual([]);
  };

  test('a key of another Region', () => {
    rejects(stack => kms.Key.fromKeyArn(stack, 'Key', `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`),
      /^PrePostScriptBackup 'Consumer\/AppBackup': encryptionKey is in Region us-east-1 but the construct is in eu-west-1/);
  });

  test('a key of another account', () => {
    rejects(stack => kms.Key.fromKeyArn(stack, 'Key', `arn:aws:kms:${REGION}:210987654321:key/${KEY_ID}`),
      /^PrePostScriptBackup 'Consumer\/AppBackup': encryptionKey belongs to account 210987654321 but the construct is in 123456789012/);
  });

  test('a key created in a stack of another Region', () => {
    const app = new App();
    const keyStack = new Stack(app, 'Keys', { env: { account: ACCOUNT, region: 'us-east-1' } });
    const key = new kms.Key(keyStack, 'Key');
    const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
    expect(() => new PrePostScriptBackup(stack, 'AppBackup', { ...fullProps(), encryptionKey: key })).toThrow(/encryptionKey is in Region us-east-1/);
  });

  test('an environment-agnostic stack cannot tell, and is accepted', () => {
    const stack = new Stack(new App(), 'Consumer');
    const key = new kms.Key(stack, 'Key');
    expect(() => new PrePostScriptBackup(stack, 'AppBackup', { ...fullProps(), encryptionKey: key })).not.toThrow();
  });
});

describe('the construct\'s roles may use the key, and no other key (IAM evaluation)', () => {
  let iam: SynthesizedIam;
  const teamKey: RequestResource = { arn: KEY_ARN, account: ACCOUNT };
  const otherKey: RequestResource = { arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/99999999-12ab-34cd-56ef-1234567890ab`, account: ACCOUNT };
  const allowed = expect.objectContaining({ result: 'Allowed' });
  const denied = expect.objectContaining({ result: 'ImplicitlyDenied' });
  const WRITE = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'];
  // KMS decides with the key policy too: the default one (aws-cdk-lib's and AWS's) lets the account's IAM policies decide.
  const accountKeyPolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
  };
  const evaluateAsRole = (role: SynthesizedRole, action: string, key: RequestResource, _context = {}, policies: NamedPolicy[] = role.policies) =>
    evaluate({ principal: role.sessionArn, action, resource: key, identityPolicies: policies, resourcePolicy: accountKeyPolicy });

  beforeAll(() => {
    // The consumer's key, imported into the consumer's stack (the grants go to the roles' own policies either way).
    iam = synthesizeIam(stack => everyOption({ encryptionKey: kms.Key.fromKeyArn(stack, 'TeamKey', KEY_ARN) }));
  });

  // The functions that read or write the audit table (and resume-wait, which also sends to the dead-letter queue).
  test.each(['AcquireLease', 'ReleaseLease', 'SendScript', 'StopInstance', 'StartInstance', 'StartBackupJob',
    'RecordInstance', 'RecordPage', 'RecordRun', 'ResumeWait'])('%s may encrypt and decrypt with the key', async (handler) => {
    const role = iam.handlerRole(handler);
    for (const action of WRITE) {
      await expect(evaluateAsRole(role, action, teamKey)).resolves.toEqual(allowed);
      await expect(evaluateAsRole(role, action, otherKey)).resolves.toEqual(denied);
    }
  });

  test.each(['ValidateInput', 'DiscoverInstances', 'CheckAgent'])('%s, which stores nothing, may only decrypt (its environment)', async (handler) => {
    const role = iam.handlerRole(handler);
    await expect(evaluateAsRole(role, 'kms:Decrypt', teamKey)).resolves.toEqual(allowed);
    for (const action of ['kms:Encrypt', 'kms:GenerateDataKey']) {
      await expect(evaluateAsRole(role, action, teamKey)).resolves.toEqual(denied);
    }
  });

  test('the state machine may encrypt and decrypt (direct audit writes, the topic it publishes to)', async () => {
    for (const action of WRITE) {
      await expect(evaluateAsRole(iam.stateMachineRole, action, teamKey)).resolves.toEqual(allowed);
    }
  });

  test('no role may manage the key, re-encrypt or create grants', async () => {
    for (const role of [...Object.values(iam.roles)]) {
      for (const action of ['kms:CreateGrant', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy', 'kms:ReEncryptFrom', 'kms:DisableKey']) {
        await expect(evaluateAsRole(role, action, teamKey)).resolves.toEqual(denied);
      }
    }
  });

  test('the harness can tell: with the key grant on any key, another key is usable', async () => {
    const role = iam.handlerRole('RecordRun');
    const loose = widened(role.policies, hasAction('kms:GenerateDataKey'), s => ({ ...s, Resource: ['*'] }));
    await expect(evaluateAsRole(role, 'kms:GenerateDataKey', otherKey, {}, loose)).resolves.toEqual(allowed);
  });

  test('without the key no role has any KMS permission on a key of the account', async () => {
    const plain = synthesizeIam(everyOption());
    for (const role of [plain.handlerRole('RecordRun'), plain.handlerRole('AcquireLease'), plain.handlerRole('ValidateInput')]) {
      await expect(evaluateAsRole(role, 'kms:Decrypt', teamKey)).resolves.toEqual(denied);
    }
  });
});
