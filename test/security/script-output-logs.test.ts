import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PrePostScriptBackup, PrePostScriptBackupProps } from '../../src';
import { ACCOUNT, evaluate, iamTokenOverrides, NamedPolicy, PolicyDocument, REGION } from '../helpers/iam-harness';
import { fullProps } from '../helpers/stacks';
import { type CfnTemplate, resolveTokens } from '../simulator/asl';

/**
 * Issue 15: the scripts' full output goes to a log group the construct creates (SendCommand CloudWatchOutputConfig),
 * encrypted and kept for the log retention, unless S3 output is chosen; grantInstanceAccess gives the instance role
 * what SSM Agent calls to write there (docs/fidelity/ssm.md), on that group only.
 */
function build(props: (stack: Stack) => PrePostScriptBackupProps, grant = false) {
  const app = new App();
  const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
  const b = new PrePostScriptBackup(stack, 'AppBackup', props(stack));
  const role = new iam.Role(stack, 'InstanceRole', { roleName: 'instance-role', assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  if (grant) b.grantInstanceAccess(role);
  const template = Template.fromStack(stack);
  return { b, template, json: template.toJSON() as CfnTemplate };
}

const outputGroups = (json: CfnTemplate) => Object.keys(json.Resources ?? {}).filter((id) => id.startsWith('AppBackupScriptOutputLogs'));

describe('the script output log group', () => {
  test('by default: created, KMS-encrypted, with the log retention, and handed to the handlers', () => {
    const { b, template, json } = build(() => fullProps({ logRetention: logs.RetentionDays.THREE_MONTHS }));
    expect(outputGroups(json)).toHaveLength(1);
    expect(b.scriptOutputLogGroup).toBeDefined();
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 90,
      KmsKeyId: Match.objectLike({ 'Fn::GetAtt': [Match.stringLikeRegexp('LogsKey'), 'Arn'] }),
    });
    const validate = Object.values(json.Resources ?? {}).find((r: any) => r.Type === 'AWS::Lambda::Function'
      && JSON.stringify(r.Properties?.Environment ?? {}).includes('SETTINGS')) as any;
    expect(JSON.stringify(validate.Properties.Environment)).toContain(outputGroups(json)[0]);
  });

  test('with an output bucket: S3 only, unless CloudWatch Logs is asked for too', () => {
    const bucket = (stack: Stack) => s3.Bucket.fromBucketName(stack, 'Out', 'script-output');
    expect(outputGroups(build((stack) => fullProps({ scriptOutputBucket: bucket(stack) })).json)).toHaveLength(0);
    expect(outputGroups(build((stack) => fullProps({ scriptOutputBucket: bucket(stack), scriptOutputToCloudWatchLogs: true })).json)).toHaveLength(1);
  });

  test('no script, no output group', () => {
    expect(outputGroups(build(() => ({})).json)).toHaveLength(0);
  });
});

describe('grantInstanceAccess with the output log group', () => {
  let policies: NamedPolicy[];
  let group: string;
  beforeAll(() => {
    const { json } = build(() => fullProps(), true);
    const overrides = iamTokenOverrides(json);
    group = overrides[outputGroups(json)[0]].Ref as string;
    policies = Object.entries(json.Resources ?? {})
      .filter(([, res]) => res.Type === 'AWS::IAM::Policy'
        && ((res.Properties?.Roles as Array<{ Ref: string }>) ?? []).some((r) => r.Ref.startsWith('InstanceRole')))
      .map(([id, res]) => {
        const p = resolveTokens(res.Properties?.PolicyDocument, json, { overrides }) as PolicyDocument;
        return { name: id, policy: { ...p, Statement: [p.Statement].flat() } };
      });
  });
  const as = (action: string, arn: string) =>
    evaluate({ principal: `arn:aws:sts::${ACCOUNT}:assumed-role/instance-role/i-0123456789abcdef0`, action, resource: { arn, account: ACCOUNT }, identityPolicies: policies });
  const groupArn = (name: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`;
  const streamArn = (name: string) => `${groupArn(name)}:log-stream:0000-cmd/i-0123456789abcdef0/run_pre_post_scripts/stderr`;

  test('lets SSM Agent create (or find) the group, create streams, read their tokens and put events: on that group', async () => {
    for (const [action, arn] of [
      ['logs:CreateLogGroup', groupArn(group)],
      ['logs:CreateLogStream', streamArn(group)],
      ['logs:DescribeLogStreams', groupArn(group)],
      ['logs:PutLogEvents', streamArn(group)],
    ]) {
      await expect(as(action, arn)).resolves.toEqual(expect.objectContaining({ result: 'Allowed' }));
    }
  });

  test('not on another group', async () => {
    await expect(as('logs:PutLogEvents', streamArn('/aws/ssm/AWS-RunShellScript'))).resolves.toEqual(expect.objectContaining({ result: 'ImplicitlyDenied' }));
    await expect(as('logs:CreateLogGroup', groupArn('other-group'))).resolves.toEqual(expect.objectContaining({ result: 'ImplicitlyDenied' }));
  });
});
