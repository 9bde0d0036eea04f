import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { Duration } from 'aws-cdk-lib';
import {
  ACCOUNT, Decision, ec2Instance, evaluate, evaluateAsRole, hasAction, hasSid, NamedPolicy, OTHER_ACCOUNT,
  PolicyDocument, REGION, RequestResource, ssmDocument, ssmTargetInstance, synthesizeIam, SynthesizedIam,
  SynthesizedRole, widened, withoutCondition,
} from '../helpers/iam-harness';
import { fullProps } from '../helpers/stacks';

/**
 * The construct's IAM, proved by policy evaluation (@cloud-copilot/iam-simulate) over the policies of a
 * synthesized consumer stack with every option on, resolved to concrete ARNs in 123456789012 / eu-west-1.
 *
 * Every denial asserted here is paired with a widened copy of the policy under which the same request is
 * allowed: the harness can tell a tight policy from a loose one.
 */

const TAG_KEY = 'backup-job-pre-post-script';
const TAG_VALUE = 'true';
const TAGGED = { [TAG_KEY]: TAG_VALUE };

let iam: SynthesizedIam;
beforeAll(() => {
  iam = synthesizeIam(fullProps({
    tagKey: TAG_KEY,
    tagValue: TAG_VALUE,
    windowsVss: true,
    recoveryPointTags: { app: 'orders' },
    backupDeleteAfter: Duration.days(35),
    auditRetention: Duration.days(400),
  }));
});

const allowed = expect.objectContaining({ result: 'Allowed' });
const denied = expect.objectContaining({ result: 'ImplicitlyDenied' });

/** Allowed only when every resource SSM authorizes for the call (the document and the instance) is allowed. */
async function sendCommand(role: SynthesizedRole, document: RequestResource, instance: RequestResource, policies?: NamedPolicy[]) {
  const [onDocument, onInstance] = await Promise.all([
    evaluateAsRole(role, 'ssm:SendCommand', document, {}, policies),
    evaluateAsRole(role, 'ssm:SendCommand', instance, {}, policies),
  ]);
  const both = onDocument.result === 'Allowed' && onInstance.result === 'Allowed';
  return { result: both ? 'Allowed' : 'ImplicitlyDenied', onDocument: onDocument.result, onInstance: onInstance.result };
}

describe('the synthesized IAM under evaluation', () => {
  test('the roles evaluated here carry no policy the harness cannot see (no managed policies)', () => {
    const evaluated = [
      ...['StopInstance', 'StartInstance', 'SendScript', 'StartBackupJob', 'RecordInstance', 'RecordRun'].map(id => iam.handlerRole(id)),
      iam.stateMachineRole,
    ];
    for (const role of evaluated) {
      expect({ role: role.logicalId, managed: role.managedPolicyArns }).toEqual({ role: role.logicalId, managed: [] });
      expect(role.policies.length).toBeGreaterThan(0);
    }
  });

  test('policies are resolved to concrete ARNs of this account and region', () => {
    const stop = JSON.stringify(iam.handlerRole('StopInstance').policies);
    expect(stop).toContain(`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/*`);
    expect(iam.backupVaultArn).toMatch(new RegExp(`^arn:aws:backup:${REGION}:${ACCOUNT}:backup-vault:[A-Za-z0-9-]+$`));
    expect(iam.eventBusArn).toMatch(new RegExp(`^arn:aws:events:${REGION}:${ACCOUNT}:event-bus/[A-Za-z0-9-]+$`));
    expect(iam.functions.length).toBeGreaterThanOrEqual(13);
  });

  test('a request the simulator cannot validate fails loudly instead of passing as a denial', async () => {
    const role = iam.handlerRole('StopInstance');
    await expect(evaluateAsRole(role, 'ec2:StopInstancez', ec2Instance({ tags: TAGGED }))).rejects.toThrow(/rejected/);
    // A context key that does not apply to the action would make a tag test vacuous.
    await expect(evaluateAsRole(role, 'ec2:StopInstances', ec2Instance(), { 'iam:PassedToService': 'x' })).rejects.toThrow(/ignored context keys/);
  });

  test('iam-simulate rejects the ARN of an AWS-owned SSM document (empty account), so the harness validates it with the account filled in', async () => {
    // If this starts passing validation, evaluateEmptyAccountArn is no longer needed.
    const response = await runSimulation({
      request: {
        principal: iam.handlerRole('SendScript').sessionArn,
        action: 'ssm:SendCommand',
        resource: { resource: ssmDocument('AWS-RunRemoteScript').arn, accountId: ACCOUNT },
        contextVariables: {},
      },
      identityPolicies: iam.handlerRole('SendScript').policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    }, {});
    expect(response).toEqual({ resultType: 'error', errors: { message: 'no.resource.types' } });
    // The harness path still rejects an unknown action for such an ARN.
    await expect(evaluateAsRole(iam.handlerRole('SendScript'), 'ssm:SendCommandz', ssmDocument('AWS-RunRemoteScript'))).rejects.toThrow(/rejected/);
  });
});

describe.each([
  ['StopInstance', 'ec2:StopInstances', 'StopTaggedInstancesOnly'],
  ['StartInstance', 'ec2:StartInstances', 'StartTaggedInstancesOnly'],
])('the %s role', (handler, action, sid) => {
  let role: SynthesizedRole;
  beforeAll(() => { role = iam.handlerRole(handler); });

  test(`may ${action} an instance carrying the backup tag`, async () => {
    await expect(evaluateAsRole(role, action, ec2Instance({ tags: TAGGED }))).resolves.toEqual(allowed);
  });

  test(`may ${action} a tagged instance that carries other tags too`, async () => {
    await expect(evaluateAsRole(role, action, ec2Instance({ tags: { ...TAGGED, Name: 'db-1' } }))).resolves.toEqual(allowed);
  });

  test(`may not ${action} an untagged instance`, async () => {
    await expect(evaluateAsRole(role, action, ec2Instance())).resolves.toEqual(denied);
    await expect(evaluateAsRole(role, action, ec2Instance({ tags: { Name: 'db-1' } }))).resolves.toEqual(denied);
  });

  test(`may not ${action} an instance whose backup tag has another value`, async () => {
    for (const value of ['false', 'TRUE', 'true ', '']) {
      await expect(evaluateAsRole(role, action, ec2Instance({ tags: { [TAG_KEY]: value } }))).resolves.toEqual(denied);
    }
  });

  test(`may not ${action} a tagged instance in another account, nor in another region`, async () => {
    const otherAccount = await evaluateAsRole(role, action, ec2Instance({ tags: TAGGED, account: OTHER_ACCOUNT }));
    expect(otherAccount).toEqual(denied);
    // Not only because the call crosses accounts: the role's own policy does not match the instance.
    expect(otherAccount.identity).toBe('ImplicitlyDenied');
    await expect(evaluateAsRole(role, action, ec2Instance({ tags: TAGGED, region: 'us-east-1' }))).resolves.toEqual(denied);
  });

  test('may not terminate, reboot or otherwise change any instance, tagged or not', async () => {
    for (const other of ['ec2:TerminateInstances', 'ec2:RebootInstances', 'ec2:ModifyInstanceAttribute', 'ec2:CreateTags', 'ec2:DeleteTags']) {
      for (const instance of [ec2Instance({ tags: TAGGED }), ec2Instance()]) {
        await expect(evaluateAsRole(role, other, instance)).resolves.toEqual(denied);
      }
    }
    const opposite = action === 'ec2:StopInstances' ? 'ec2:StartInstances' : 'ec2:StopInstances';
    await expect(evaluateAsRole(role, opposite, ec2Instance({ tags: TAGGED }))).resolves.toEqual(denied);
  });

  test('the harness can tell: without its Condition the statement lets the role touch untagged instances', async () => {
    const loose = widened(role.policies, hasSid(sid), withoutCondition);
    await expect(evaluateAsRole(role, action, ec2Instance(), {}, loose)).resolves.toEqual(allowed);
    await expect(evaluateAsRole(role, action, ec2Instance({ tags: { [TAG_KEY]: 'false' } }), {}, loose)).resolves.toEqual(allowed);
  });

  test('the harness can tell: with any account in the ARN the role may touch another account\'s instance', async () => {
    const loose = widened(role.policies, hasSid(sid), s => ({ ...s, Resource: ['arn:aws:ec2:*:*:instance/*'] }));
    const decision = await evaluateAsRole(role, action, ec2Instance({ tags: TAGGED, account: OTHER_ACCOUNT }), {}, loose);
    expect(decision.identity).toBe('Allowed');
  });

  test('the harness can tell: with ec2:* the role may terminate a tagged instance', async () => {
    const loose = widened(role.policies, hasSid(sid), s => ({ ...s, Action: ['ec2:*'] }));
    await expect(evaluateAsRole(role, 'ec2:TerminateInstances', ec2Instance({ tags: TAGGED }), {}, loose)).resolves.toEqual(allowed);
  });
});

describe('the SendScript role', () => {
  let role: SynthesizedRole;
  beforeAll(() => { role = iam.handlerRole('SendScript'); });
  const runRemoteScript = ssmDocument('AWS-RunRemoteScript');

  test('may SendCommand with AWS-RunRemoteScript on a tagged instance', async () => {
    await expect(sendCommand(role, runRemoteScript, ssmTargetInstance({ tags: TAGGED }))).resolves.toEqual(
      { result: 'Allowed', onDocument: 'Allowed', onInstance: 'Allowed' });
  });

  test('may not SendCommand with another document, AWS-owned or the account\'s own', async () => {
    for (const document of [
      ssmDocument('AWS-RunShellScript'),
      ssmDocument('AWS-RunPowerShellScript'),
      ssmDocument('AWS-RunRemoteScript', ACCOUNT), // a look-alike in the account, not the AWS-owned document
      ssmDocument('AWS-RunRemoteScript', OTHER_ACCOUNT), // a look-alike shared from another account
    ]) {
      await expect(sendCommand(role, document, ssmTargetInstance({ tags: TAGGED }))).resolves.toEqual(
        { result: 'ImplicitlyDenied', onDocument: 'ImplicitlyDenied', onInstance: 'Allowed' });
    }
  });

  test('may not SendCommand on an untagged instance, one with another tag value, or one in another account', async () => {
    for (const instance of [
      ssmTargetInstance(),
      ssmTargetInstance({ tags: { [TAG_KEY]: 'false' } }),
      ssmTargetInstance({ tags: TAGGED, account: OTHER_ACCOUNT }),
    ]) {
      await expect(sendCommand(role, runRemoteScript, instance)).resolves.toEqual(
        { result: 'ImplicitlyDenied', onDocument: 'Allowed', onInstance: 'ImplicitlyDenied' });
    }
  });

  test('may not start sessions or automations on a tagged instance', async () => {
    await expect(evaluateAsRole(role, 'ssm:StartSession', ssmTargetInstance({ tags: TAGGED }))).resolves.toEqual(denied);
    await expect(evaluateAsRole(role, 'ec2:StopInstances', ec2Instance({ tags: TAGGED }))).resolves.toEqual(denied);
  });

  test('the harness can tell: a document wildcard lets AWS-RunShellScript through', async () => {
    const loose = widened(role.policies, hasSid('RunTheScriptDocument'), s => ({ ...s, Resource: [`arn:aws:ssm:${REGION}::document/*`] }));
    await expect(sendCommand(role, ssmDocument('AWS-RunShellScript'), ssmTargetInstance({ tags: TAGGED }), loose)).resolves.toEqual(
      expect.objectContaining({ result: 'Allowed' }));
  });

  test('the harness can tell: without the tag Condition an untagged instance is reachable', async () => {
    const loose = widened(role.policies, hasSid('OnTaggedInstancesOnly'), withoutCondition);
    await expect(sendCommand(role, runRemoteScript, ssmTargetInstance(), loose)).resolves.toEqual(
      expect.objectContaining({ result: 'Allowed' }));
  });
});

describe('the StartBackupJob role', () => {
  let role: SynthesizedRole;
  beforeAll(() => { role = iam.handlerRole('StartBackupJob'); });
  const roleResource = (arn: string): RequestResource => ({ arn, account: arn.split(':')[4] });
  const vault = (name: string, account = ACCOUNT): RequestResource =>
    ({ arn: `arn:aws:backup:${REGION}:${account}:backup-vault:${name}`, account });

  test('may pass the backup role to AWS Backup', async () => {
    await expect(evaluateAsRole(role, 'iam:PassRole', roleResource(iam.backupRoleArn), { 'iam:PassedToService': 'backup.amazonaws.com' }))
      .resolves.toEqual(allowed);
  });

  test('may not pass the backup role to another service, nor without naming one', async () => {
    for (const service of ['ec2.amazonaws.com', 'lambda.amazonaws.com', 'backup.amazonaws.com.evil.example']) {
      await expect(evaluateAsRole(role, 'iam:PassRole', roleResource(iam.backupRoleArn), { 'iam:PassedToService': service }))
        .resolves.toEqual(denied);
    }
    await expect(evaluateAsRole(role, 'iam:PassRole', roleResource(iam.backupRoleArn))).resolves.toEqual(denied);
  });

  test('may not pass any other role, not even to AWS Backup', async () => {
    const others = [
      `arn:aws:iam::${ACCOUNT}:role/Admin`,
      iam.stateMachineRole.arn,
      iam.handlerRole('StopInstance').arn,
      iam.backupRoleArn.replace(ACCOUNT, OTHER_ACCOUNT),
    ];
    for (const other of others) {
      await expect(evaluateAsRole(role, 'iam:PassRole', roleResource(other), { 'iam:PassedToService': 'backup.amazonaws.com' }))
        .resolves.toEqual(denied);
    }
  });

  test('may StartBackupJob into the construct\'s vault only', async () => {
    await expect(evaluateAsRole(role, 'backup:StartBackupJob', roleResource(iam.backupVaultArn))).resolves.toEqual(allowed);
    const name = iam.backupVaultArn.split(':').pop()!;
    for (const other of [vault('Default'), vault(`${name}-copy`), vault(name, OTHER_ACCOUNT)]) {
      await expect(evaluateAsRole(role, 'backup:StartBackupJob', other)).resolves.toEqual(denied);
    }
  });

  test('may not delete the vault, nor change the vault\'s policy or lock', async () => {
    for (const action of ['backup:DeleteBackupVault', 'backup:PutBackupVaultAccessPolicy', 'backup:DeleteBackupVaultLockConfiguration']) {
      await expect(evaluateAsRole(role, action, roleResource(iam.backupVaultArn))).resolves.toEqual(denied);
    }
  });

  test('the harness can tell: without the PassedToService Condition the role could hand the backup role to EC2', async () => {
    const loose = widened(role.policies, hasSid('PassTheBackupRoleToAwsBackupOnly'), withoutCondition);
    await expect(evaluateAsRole(role, 'iam:PassRole', roleResource(iam.backupRoleArn), { 'iam:PassedToService': 'ec2.amazonaws.com' }, loose))
      .resolves.toEqual(allowed);
  });

  test('the harness can tell: a role wildcard lets the role pass an admin role, and a vault wildcard any vault', async () => {
    const anyRole = widened(role.policies, hasSid('PassTheBackupRoleToAwsBackupOnly'), s => ({ ...s, Resource: [`arn:aws:iam::${ACCOUNT}:role/*`] }));
    await expect(evaluateAsRole(role, 'iam:PassRole', roleResource(`arn:aws:iam::${ACCOUNT}:role/Admin`), { 'iam:PassedToService': 'backup.amazonaws.com' }, anyRole))
      .resolves.toEqual(allowed);
    const anyVault = widened(role.policies, hasSid('BackUpIntoTheVault'), s => ({ ...s, Resource: ['*'] }));
    await expect(evaluateAsRole(role, 'backup:StartBackupJob', vault('Default'), {}, anyVault)).resolves.toEqual(allowed);
  });
});

describe('the event bus resource policy', () => {
  /** A principal whose own identity policy allows PutEvents on any bus. */
  const sender = (account: string, canPut = true) => ({
    principal: `arn:aws:iam::${account}:role/EventSender`,
    identityPolicies: canPut
      ? [{ name: 'sender', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow' as const, Action: ['events:PutEvents'], Resource: ['*'] }] } }]
      : [],
  });
  const putEvents = (who: ReturnType<typeof sender>, resourcePolicy: PolicyDocument): Promise<Decision> => evaluate({
    ...who,
    action: 'events:PutEvents',
    resource: { arn: iam.eventBusArn, account: ACCOUNT },
    resourcePolicy,
  });

  test('holds one statement: PutEvents for this account\'s principals', () => {
    expect(iam.eventBusPolicy.Statement).toEqual([expect.objectContaining({
      Effect: 'Allow', Action: 'events:PutEvents', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Resource: iam.eventBusArn,
    })]);
  });

  test('admits PutEvents from a principal of this account that is allowed to put events', async () => {
    await expect(putEvents(sender(ACCOUNT), iam.eventBusPolicy)).resolves.toEqual(allowed);
  });

  test('admits nobody of this account by itself: a principal still needs its own grant (grantPutEvents)', async () => {
    const decision = await putEvents(sender(ACCOUNT, false), iam.eventBusPolicy);
    expect(decision).toEqual(denied);
    expect(decision.resource).toBe('AllowedForAccount');
  });

  test('admits nobody from another account, whatever their own policies allow', async () => {
    for (const account of [OTHER_ACCOUNT, '000000000000']) {
      const decision = await putEvents(sender(account), iam.eventBusPolicy);
      expect(decision).toEqual(denied);
      expect(decision.sameAccount).toBe(false);
      expect(decision.identity).toBe('Allowed'); // the sender's side allows it; the bus refuses
    }
  });

  test('the harness can tell: with Principal * the other account gets in', async () => {
    const loose: PolicyDocument = { ...iam.eventBusPolicy, Statement: iam.eventBusPolicy.Statement.map(s => ({ ...s, Principal: '*' })) };
    await expect(putEvents(sender(OTHER_ACCOUNT), loose)).resolves.toEqual(allowed);
  });
});

// Issue 15: the dry run's function. EC2's DryRun answers for the caller's own permissions, so it holds the acting
// roles' tag-conditioned stop/start statement (and sends them only with DryRun: true); nothing else that acts.
describe('the PreflightInstance role (dry run)', () => {
  let role: SynthesizedRole;
  beforeAll(() => { role = iam.handlerRole('PreflightInstance'); });
  const arnOf = (arn: string): RequestResource => ({ arn, account: arn.split(':')[4] });

  test.each(['ec2:StopInstances', 'ec2:StartInstances'])('%s (its DryRun) is answered for tagged instances only, as for the acting roles', async (action) => {
    await expect(evaluateAsRole(role, action, ec2Instance({ tags: TAGGED }))).resolves.toEqual(allowed);
    await expect(evaluateAsRole(role, action, ec2Instance())).resolves.toEqual(denied);
    await expect(evaluateAsRole(role, action, ec2Instance({ tags: { [TAG_KEY]: 'false' } }))).resolves.toEqual(denied);
    await expect(evaluateAsRole(role, action, ec2Instance({ tags: TAGGED, account: OTHER_ACCOUNT }))).resolves.toEqual(denied);
  });

  test('the probe: AWS-RunRemoteScript on tagged instances only', async () => {
    await expect(sendCommand(role, ssmDocument('AWS-RunRemoteScript'), ssmTargetInstance({ tags: TAGGED }))).resolves.toEqual(
      { result: 'Allowed', onDocument: 'Allowed', onInstance: 'Allowed' });
    await expect(sendCommand(role, ssmDocument('AWS-RunShellScript'), ssmTargetInstance({ tags: TAGGED }))).resolves.toMatchObject({ result: 'ImplicitlyDenied' });
    await expect(sendCommand(role, ssmDocument('AWS-RunRemoteScript'), ssmTargetInstance())).resolves.toMatchObject({ result: 'ImplicitlyDenied' });
  });

  test('reads the configured vault only, and may not start a backup, pass the role, or terminate anything', async () => {
    await expect(evaluateAsRole(role, 'backup:DescribeBackupVault', arnOf(iam.backupVaultArn))).resolves.toEqual(allowed);
    const other = iam.backupVaultArn.replace(/backup-vault:.*$/, 'backup-vault:Default');
    await expect(evaluateAsRole(role, 'backup:DescribeBackupVault', arnOf(other))).resolves.toEqual(denied);
    await expect(evaluateAsRole(role, 'backup:StartBackupJob', arnOf(iam.backupVaultArn))).resolves.toEqual(denied);
    await expect(evaluateAsRole(role, 'iam:PassRole', arnOf(iam.backupRoleArn), { 'iam:PassedToService': 'backup.amazonaws.com' })).resolves.toEqual(denied);
    await expect(evaluateAsRole(role, 'ec2:TerminateInstances', ec2Instance({ tags: TAGGED }))).resolves.toEqual(denied);
  });

  test('writes nothing to the audit table (no lease, journal or waiting task): its entry is record-instance\'s', async () => {
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem']) {
      await expect(evaluateAsRole(role, action, arnOf(iam.auditTableArn))).resolves.toEqual(denied);
    }
  });

  test('the harness can tell: without its Condition the DryRun statement would answer for untagged instances', async () => {
    const loose = widened(role.policies, hasSid('DryRunStopStartOfTaggedInstancesOnly'), withoutCondition);
    await expect(evaluateAsRole(role, 'ec2:StopInstances', ec2Instance(), {}, loose)).resolves.toEqual(allowed);
  });
});

describe('the state machine role', () => {
  let role: SynthesizedRole;
  beforeAll(() => { role = iam.stateMachineRole; });
  const fn = (arn: string): RequestResource => ({ arn, account: arn.split(':')[4] });

  test('may invoke each of the construct\'s own functions, and their versions', async () => {
    // resume-wait is EventBridge's target, not a step: the state machine may not invoke it.
    const own = iam.functions.filter(f => f.logicalId.startsWith('AppBackupHandlers') && !f.logicalId.includes('ResumeWait'));
    // 12, the recovery's three, the dry run's preflight-instance (issue 15) and observe-release (issue 14).
    expect(own).toHaveLength(17);
    for (const f of own) {
      await expect(evaluateAsRole(role, 'lambda:InvokeFunction', fn(f.arn))).resolves.toEqual(allowed);
      await expect(evaluateAsRole(role, 'lambda:InvokeFunction', fn(`${f.arn}:1`))).resolves.toEqual(allowed);
    }
  });

  test('may not invoke resume-wait, which only the state-change rules invoke', async () => {
    const resume = iam.functions.find(f => f.logicalId.startsWith('AppBackupHandlersResumeWait'))!;
    expect(resume).toBeDefined();
    await expect(evaluateAsRole(role, 'lambda:InvokeFunction', fn(resume.arn))).resolves.not.toEqual(allowed);
  });

  test('may not invoke an arbitrary function, nor a look-alike of its own', async () => {
    const own = iam.functions.find(f => f.logicalId.startsWith('AppBackupHandlersStopInstance'))!;
    for (const other of [
      `arn:aws:lambda:${REGION}:${ACCOUNT}:function:SomeoneElsesFunction`,
      `${own.arn}Evil`,
      own.arn.replace(ACCOUNT, OTHER_ACCOUNT),
      own.arn.replace(REGION, 'us-east-1'),
    ]) {
      await expect(evaluateAsRole(role, 'lambda:InvokeFunction', fn(other))).resolves.toEqual(denied);
    }
  });

  test('may start child executions of its own state machine only', async () => {
    const own = iam.stateMachineArn;
    await expect(evaluateAsRole(role, 'states:StartExecution', fn(own))).resolves.toEqual(allowed);
    const other = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:SomeoneElsesStateMachine`;
    await expect(evaluateAsRole(role, 'states:StartExecution', fn(other))).resolves.toEqual(denied);
  });

  test('the harness can tell: InvokeFunction on * reaches an arbitrary function', async () => {
    const loose = widened(role.policies, hasAction('lambda:InvokeFunction'), s => ({ ...s, Resource: ['*'] }));
    await expect(evaluateAsRole(role, 'lambda:InvokeFunction', fn(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:SomeoneElsesFunction`), {}, loose))
      .resolves.toEqual(allowed);
  });
});

describe('the audit writers', () => {
  const table = (name: string, account = ACCOUNT): RequestResource =>
    ({ arn: `arn:aws:dynamodb:${REGION}:${account}:table/${name}`, account });
  const writers = (): Array<[string, SynthesizedRole]> => [
    ['RecordInstance', iam.handlerRole('RecordInstance')],
    ['RecordRun', iam.handlerRole('RecordRun')],
    ['the state machine', iam.stateMachineRole],
  ];
  const audit = (): RequestResource => ({ arn: iam.auditTableArn, account: ACCOUNT });

  test('each may PutItem into the audit table', async () => {
    for (const [, role] of writers()) {
      await expect(evaluateAsRole(role, 'dynamodb:PutItem', audit())).resolves.toEqual(allowed);
    }
  });

  test('none may delete or update audit items, delete the table, or change its settings', async () => {
    for (const [name, role] of writers()) {
      for (const action of ['dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteTable', 'dynamodb:UpdateTable',
        'dynamodb:UpdateTimeToLive', 'dynamodb:PartiQLDelete', 'dynamodb:Scan']) {
        const decision = await evaluateAsRole(role, action, audit());
        expect({ writer: name, action, result: decision.result }).toEqual({ writer: name, action, result: 'ImplicitlyDenied' });
      }
    }
  });

  test('none may write any other table', async () => {
    const name = iam.auditTableArn.split('/').pop()!;
    for (const [writer, role] of writers()) {
      for (const other of [table('Orders'), table(`${name}-copy`), table(name, OTHER_ACCOUNT)]) {
        for (const action of ['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
          const decision = await evaluateAsRole(role, action, other);
          expect({ writer, action, table: other.arn, result: decision.result })
            .toEqual({ writer, action, table: other.arn, result: 'ImplicitlyDenied' });
        }
      }
    }
  });

  test('the harness can tell: dynamodb:* on the table lets a writer delete audit items; a table wildcard reaches other tables', async () => {
    for (const [, role] of writers()) {
      const anyAction = widened(role.policies, hasAction('dynamodb:PutItem'), s => ({ ...s, Action: ['dynamodb:*'] }));
      await expect(evaluateAsRole(role, 'dynamodb:DeleteItem', audit(), {}, anyAction)).resolves.toEqual(allowed);
      const anyTable = widened(role.policies, hasAction('dynamodb:PutItem'), s => ({ ...s, Resource: ['*'] }));
      await expect(evaluateAsRole(role, 'dynamodb:PutItem', table('Orders'), {}, anyTable)).resolves.toEqual(allowed);
    }
  });
});

describe('the lease handlers', () => {
  const audit = (): RequestResource => ({ arn: iam.auditTableArn, account: ACCOUNT });
  const leaseKey = { 'dynamodb:LeadingKeys': ['LEASE#i-0123456789abcdef0'] };
  const auditKeys: Array<Record<string, string[]>> = [
    { 'dynamodb:LeadingKeys': [`arn:aws:states:${REGION}:${ACCOUNT}:execution:Backup:nightly`] },
    { 'dynamodb:LeadingKeys': [`arn:aws:states:${REGION}:${ACCOUNT}:execution:Backup:nightly#i-0123456789abcdef0`] },
  ];
  const roles = (): Array<[string, SynthesizedRole, string[]]> => [
    ['AcquireLease', iam.handlerRole('AcquireLease'), ['dynamodb:PutItem', 'dynamodb:GetItem']],
    ['ReleaseLease', iam.handlerRole('ReleaseLease'), ['dynamodb:DeleteItem']],
  ];

  test('each may do its job on lease items, and nothing on an audit record', async () => {
    for (const [name, role, actions] of roles()) {
      for (const action of actions) {
        await expect(evaluateAsRole(role, action, audit(), leaseKey)).resolves.toEqual(allowed);
        for (const key of auditKeys) {
          const decision = await evaluateAsRole(role, action, audit(), key);
          expect({ name, action, key, result: decision.result }).toEqual({ name, action, key, result: 'ImplicitlyDenied' });
        }
      }
      for (const action of ['dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchWriteItem']) {
        // Scan reads no partition: DynamoDB sends it without leading keys.
        const decision = await evaluateAsRole(role, action, audit(), action === 'dynamodb:Scan' ? {} : leaseKey);
        expect({ name, action, result: decision.result }).toEqual({ name, action, result: 'ImplicitlyDenied' });
      }
    }
  });

  test('the harness can tell: without the LeadingKeys condition a lease handler could overwrite an audit record', async () => {
    for (const [, role, actions] of roles()) {
      const unconditioned = widened(role.policies, hasAction(actions[0]), withoutCondition);
      await expect(evaluateAsRole(role, actions[0], audit(), auditKeys[0], unconditioned)).resolves.toEqual(allowed);
    }
  });
});

describe('no role of the construct', () => {
  test('may terminate a tagged instance, pass an arbitrary role, or delete the audit table', async () => {
    const constructRoles = Object.values(iam.roles).filter(r => r.logicalId.startsWith('AppBackup') && r.managedPolicyArns.length === 0);
    expect(constructRoles.length).toBeGreaterThanOrEqual(12);
    for (const role of constructRoles) {
      const checks = await Promise.all([
        evaluateAsRole(role, 'ec2:TerminateInstances', ec2Instance({ tags: TAGGED })),
        evaluateAsRole(role, 'iam:PassRole', { arn: `arn:aws:iam::${ACCOUNT}:role/Admin`, account: ACCOUNT }, { 'iam:PassedToService': 'ec2.amazonaws.com' }),
        evaluateAsRole(role, 'dynamodb:DeleteTable', { arn: iam.auditTableArn, account: ACCOUNT }),
      ]);
      expect({ role: role.logicalId, results: checks.map(c => c.result) })
        .toEqual({ role: role.logicalId, results: ['ImplicitlyDenied', 'ImplicitlyDenied', 'ImplicitlyDenied'] });
    }
  });
});

describe('the waits on events', () => {
  const audit = (): RequestResource => ({ arn: iam.auditTableArn, account: ACCOUNT });
  const waitKeys: Array<Record<string, string[]>> = [
    { 'dynamodb:LeadingKeys': ['WAIT#stop#i-0123456789abcdef0'] },
    { 'dynamodb:LeadingKeys': ['WAIT#script#0b1f6c3e-1111-4000-8000-000000000001:i-0123456789abcdef0'] },
    { 'dynamodb:LeadingKeys': ['WAIT#backup#D6A7B8C9-0000-4000-8000-000000000001'] },
  ];
  const notWaitKeys: Array<Record<string, string[]>> = [
    { 'dynamodb:LeadingKeys': ['LEASE#i-0123456789abcdef0'] },
    { 'dynamodb:LeadingKeys': [`arn:aws:states:${REGION}:${ACCOUNT}:execution:Backup:nightly`] },
    { 'dynamodb:LeadingKeys': [`arn:aws:states:${REGION}:${ACCOUNT}:execution:Backup:nightly#i-0123456789abcdef0`] },
    // A key that merely contains WAIT# is not a wait's.
    { 'dynamodb:LeadingKeys': ['RUN#WAIT#x'] },
  ];
  const WAITING = ['SendScript', 'StopInstance', 'StartInstance', 'StartBackupJob'];
  const waitingRoles = (): Array<[string, SynthesizedRole]> => WAITING.map(id => [id, iam.handlerRole(id)]);

  /**
   * SendTaskSuccess on a state machine ARN. The Service Authorization Reference lists no resource type for the
   * action, so iam-simulate refuses to validate any ARN for it ('must.use.wildcard'): it is evaluated unvalidated here.
   */
  function sendTaskSuccess(role: SynthesizedRole, arn: string, policies: NamedPolicy[] = role.policies): string {
    return runUnsafeSimulation({
      request: { principal: role.sessionArn, action: 'states:SendTaskSuccess', resource: { resource: arn, accountId: arn.split(':')[4] }, contextVariables: {} },
      identityPolicies: policies.map(p => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    }, { simulationMode: 'Strict' });
  }

  test('iam-simulate will not validate SendTaskSuccess on a state machine ARN (why it is evaluated unvalidated)', async () => {
    await expect(evaluateAsRole(iam.handlerRole('StopInstance'), 'states:SendTaskSuccess', { arn: iam.stateMachineArn, account: ACCOUNT }))
      .rejects.toThrow(/must\.use\.wildcard/);
  });

  test('each waiting role and resume-wait may SendTaskSuccess (a task token scopes it: IAM has no resource for it)', () => {
    for (const [name, role] of [...waitingRoles(), ['ResumeWait', iam.handlerRole('ResumeWait')] as [string, SynthesizedRole]]) {
      for (const arn of [iam.stateMachineArn, `${iam.stateMachineArn}/For-each-instance-label`]) {
        expect({ name, arn, result: sendTaskSuccess(role, arn) }).toEqual({ name, arn, result: 'Allowed' });
      }
    }
  });

  test('the answering statement allows SendTaskSuccess only: no failure, heartbeat or any other states: action', () => {
    for (const [name, role] of [...waitingRoles(), ['ResumeWait', iam.handlerRole('ResumeWait')] as [string, SynthesizedRole]]) {
      const actions = role.policies.flatMap(p => p.policy.Statement as Array<{ Action: string | string[] }>)
        .flatMap(st => [st.Action].flat()).filter(a => a.startsWith('states:'));
      expect({ name, actions }).toEqual({ name, actions: ['states:SendTaskSuccess'] });
    }
  });

  test('no other role of the construct may answer a task', () => {
    const answering = new Set([...WAITING, 'ResumeWait'].map(id => iam.handlerRole(id).logicalId));
    const others = Object.values(iam.roles).filter(r => r.logicalId.startsWith('AppBackup') && !answering.has(r.logicalId));
    expect(others.length).toBeGreaterThan(5);
    for (const role of others) {
      expect({ role: role.logicalId, result: sendTaskSuccess(role, iam.stateMachineArn) }).toEqual({ role: role.logicalId, result: 'ImplicitlyDenied' });
    }
  });

  test('the waiting roles may UpdateItem, PutItem and DeleteItem WAIT# items, and none of these on any other item', async () => {
    for (const [name, role] of waitingRoles()) {
      for (const action of ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']) {
        for (const key of waitKeys) {
          const decision = await evaluateAsRole(role, action, audit(), key);
          expect({ name, action, key, result: decision.result }).toEqual({ name, action, key, result: 'Allowed' });
        }
        for (const key of notWaitKeys) {
          const decision = await evaluateAsRole(role, action, audit(), key);
          expect({ name, action, key, result: decision.result }).toEqual({ name, action, key, result: 'ImplicitlyDenied' });
        }
      }
    }
  });

  test('resume-wait may GetItem and DeleteItem WAIT# items only, and never register or write one', async () => {
    const role = iam.handlerRole('ResumeWait');
    for (const action of ['dynamodb:GetItem', 'dynamodb:DeleteItem']) {
      for (const key of waitKeys) {
        await expect(evaluateAsRole(role, action, audit(), key)).resolves.toEqual(allowed);
      }
      for (const key of notWaitKeys) {
        const decision = await evaluateAsRole(role, action, audit(), key);
        expect({ action, key, result: decision.result }).toEqual({ action, key, result: 'ImplicitlyDenied' });
      }
    }
    for (const action of ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']) {
      const decision = await evaluateAsRole(role, action, audit(), waitKeys[0]);
      expect({ action, result: decision.result }).toEqual({ action, result: 'ImplicitlyDenied' });
    }
  });

  test('resume-wait only looks: it may not stop, start or send a command to any instance, nor cancel a command', async () => {
    const role = iam.handlerRole('ResumeWait');
    const tagged = ec2Instance({ tags: TAGGED });
    for (const action of ['ec2:StopInstances', 'ec2:StartInstances']) {
      await expect(evaluateAsRole(role, action, tagged)).resolves.toEqual(denied);
    }
    const send = await sendCommand(role, ssmDocument('AWS-RunRemoteScript'), ssmTargetInstance({ tags: TAGGED }));
    expect(send.result).toBe('ImplicitlyDenied');
    await expect(evaluateAsRole(role, 'ssm:CancelCommand', { arn: '*', account: ACCOUNT })).resolves.toEqual(denied);
    // It does look.
    await expect(evaluateAsRole(role, 'ec2:DescribeInstances', { arn: '*', account: ACCOUNT })).resolves.toEqual(allowed);
  });

  test('the harness can tell: without the LeadingKeys condition resume-wait could read a run record and a waiting role overwrite it', async () => {
    const resume = iam.handlerRole('ResumeWait');
    const unconditionedResume = widened(resume.policies, hasSid('FindAndClearWaitingTasksOnly'), withoutCondition);
    await expect(evaluateAsRole(resume, 'dynamodb:GetItem', audit(), notWaitKeys[1], unconditionedResume)).resolves.toEqual(allowed);
    const stop = iam.handlerRole('StopInstance');
    const unconditionedStop = widened(stop.policies, hasSid('RegisterWaitingTasksOnly'), withoutCondition);
    await expect(evaluateAsRole(stop, 'dynamodb:UpdateItem', audit(), notWaitKeys[1], unconditionedStop)).resolves.toEqual(allowed);
  });
});
