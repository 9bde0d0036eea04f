import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PrePostScriptBackup } from '../../src';
import { ACCOUNT, evaluate, iamTokenOverrides, NamedPolicy, PolicyDocument, RequestResource, widened } from '../helpers/iam-harness';
import { fullProps } from '../helpers/stacks';
import { type CfnTemplate, resolveTokens } from '../simulator/asl';

/**
 * grantInstanceAccess, proved by policy evaluation: what SSM Agent does with the instance role when it writes a
 * command's output to the script output bucket (Systems Manager's instance-profile guide, docs/fidelity/ssm.md):
 * PutObject under the prefix, GetEncryptionConfiguration on the bucket, and for a customer-managed key the key's
 * GenerateDataKey (and Decrypt, for multipart uploads).
 */

const allowed = expect.objectContaining({ result: 'Allowed' });
const denied = expect.objectContaining({ result: 'ImplicitlyDenied' });

interface InstanceRole {
  readonly sessionArn: string;
  readonly policies: NamedPolicy[];
  readonly bucketArn: string;
  readonly keyArn: string;
  /** The key's policy (KMS needs it to allow too: CDK's default delegates to the account's IAM policies). */
  readonly keyPolicy: PolicyDocument;
}

/** A consumer stack whose output bucket is encrypted with its own KMS key; its instance role gets grantInstanceAccess. */
function build(grant: boolean): InstanceRole {
  const app = new App();
  const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: 'eu-west-1' } });
  const key = new kms.Key(stack, 'OutputKey');
  const bucket = new s3.Bucket(stack, 'Output', { bucketName: 'script-output', encryption: s3.BucketEncryption.KMS, encryptionKey: key });
  const b = new PrePostScriptBackup(stack, 'AppBackup', fullProps({ scriptOutputBucket: bucket, scriptOutputKeyPrefix: 'runs' }));
  const role = new iam.Role(stack, 'InstanceRole', { roleName: 'instance-role', assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  if (grant) {
    b.grantInstanceAccess(role);
  } else {
    // What the construct granted before: PutObject only.
    bucket.grantPut(role, 'runs/*');
  }
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const overrides = iamTokenOverrides(template);
  const policies: NamedPolicy[] = Object.entries(template.Resources ?? {})
    .filter(([, res]) => res.Type === 'AWS::IAM::Policy'
      && ((res.Properties?.Roles as Array<{ Ref: string }>) ?? []).some(r => r.Ref.startsWith('InstanceRole')))
    .map(([id, res]) => ({ name: id, policy: resolveTokens(res.Properties?.PolicyDocument, template, { overrides }) as PolicyDocument }));
  const keyId = Object.keys(template.Resources ?? {}).find(id => id.startsWith('OutputKey'))!;
  return {
    sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/instance-role/i-0123456789abcdef0`,
    policies: policies.map(p => ({ name: p.name, policy: { ...p.policy, Statement: [p.policy.Statement].flat() } })),
    bucketArn: 'arn:aws:s3:::script-output',
    keyArn: overrides[keyId].Arn,
    keyPolicy: resolveTokens(template.Resources![keyId].Properties?.KeyPolicy, template, { overrides }) as PolicyDocument,
  };
}

const s3Resource = (arn: string): RequestResource => ({ arn, account: ACCOUNT });
const as = (role: InstanceRole, action: string, resource: RequestResource, policies = role.policies) =>
  evaluate({ principal: role.sessionArn, action, resource, identityPolicies: policies, ...(action.startsWith('kms:') ? { resourcePolicy: role.keyPolicy } : {}) });

describe('grantInstanceAccess with a script output bucket (SSE-KMS, customer-managed key)', () => {
  let granted: InstanceRole;
  let putOnly: InstanceRole;
  beforeAll(() => {
    granted = build(true);
    putOnly = build(false);
  });

  test('lets SSM Agent read the bucket\'s encryption configuration, as the instance-profile guide requires', async () => {
    await expect(as(granted, 's3:GetEncryptionConfiguration', s3Resource(granted.bucketArn))).resolves.toEqual(allowed);
  });

  test('without it (PutObject only, the construct\'s old grant) SSM Agent is denied: the output never reaches S3', async () => {
    await expect(as(putOnly, 's3:GetEncryptionConfiguration', s3Resource(putOnly.bucketArn))).resolves.toEqual(denied);
  });

  test('writes output under the prefix only', async () => {
    await expect(as(granted, 's3:PutObject', s3Resource(`${granted.bucketArn}/runs/run-1/pre/cmd/i-1/runShellScript/stdout`)))
      .resolves.toEqual(allowed);
    await expect(as(granted, 's3:PutObject', s3Resource(`${granted.bucketArn}/elsewhere/stdout`))).resolves.toEqual(denied);
  });

  test('uses the bucket\'s customer-managed key for the upload (GenerateDataKey, and Decrypt for multipart uploads)', async () => {
    const key: RequestResource = { arn: granted.keyArn, account: ACCOUNT };
    await expect(as(granted, 'kms:GenerateDataKey', key)).resolves.toEqual(allowed);
    await expect(as(granted, 'kms:Decrypt', key)).resolves.toEqual(allowed);
  });

  test('reads no other bucket\'s encryption configuration, nor the key of another', async () => {
    await expect(as(granted, 's3:GetEncryptionConfiguration', s3Resource('arn:aws:s3:::another-bucket'))).resolves.toEqual(denied);
    const other: RequestResource = { arn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/11111111-2222-4333-8444-555555555555`, account: ACCOUNT };
    await expect(as(granted, 'kms:Decrypt', other)).resolves.toEqual(denied);
  });

  test('the harness can tell: with the bucket resource widened to every bucket, another bucket is allowed', async () => {
    const loose = widened(granted.policies, s => [s.Action].flat().includes('s3:GetEncryptionConfiguration'), s => ({ ...s, Resource: ['arn:aws:s3:::*'] }));
    await expect(as(granted, 's3:GetEncryptionConfiguration', s3Resource('arn:aws:s3:::another-bucket'), loose)).resolves.toEqual(allowed);
  });
});
