import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BackupScript, FreezeBudgetAction, PrePostScriptBackup, PreScriptFailurePolicy, ReleaseTiming } from '../../src';
import { consumerStack, fullProps, template } from '../helpers/stacks';

describe('resources', () => {
  const t = template();

  test('a Standard state machine, traced, logging everything to an encrypted log group', () => {
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
    });
    const logGroups = t.findResources('AWS::Logs::LogGroup');
    expect(Object.keys(logGroups).length).toBeGreaterThan(1);
    for (const group of Object.values(logGroups)) {
      expect(group.Properties.KmsKeyId).toBeDefined();
      expect(group.Properties.RetentionInDays).toBe(365);
    }
  });

  test('the audit table: execution ARN key, on-demand, point-in-time recovery, encrypted, retained', () => {
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'SM_Execution_ID', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ExpiresAt', Enabled: true },
        GlobalSecondaryIndexes: [Match.objectLike({
          IndexName: 'RunIndex',
          KeySchema: [
            { AttributeName: 'Run_Execution_ID', KeyType: 'HASH' },
            { AttributeName: 'InstanceId', KeyType: 'RANGE' },
          ],
        })],
      },
    });
  });

  test('an event bus that admits this account only, and a rule on the detail-type that passes the detail', () => {
    t.resourceCountIs('AWS::Events::EventBus', 1);
    const [policy] = Object.values(t.findResources('AWS::Events::EventBusPolicy'));
    expect(policy.Properties.Statement).toMatchObject({ Effect: 'Allow', Action: 'events:PutEvents' });
    expect(JSON.stringify(policy.Properties.Statement.Principal)).toBe(
      JSON.stringify({ AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::123456789012:root']] } }));
    expect(policy.Properties.Statement.Condition).toBeUndefined();
    t.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      EventPattern: { 'detail-type': ['BackupSolution-PrePostScript'] },
      Targets: [Match.objectLike({
        InputPath: '$.detail',
        DeadLetterConfig: Match.anyValue(),
        RetryPolicy: Match.anyValue(),
      })],
    });
    expect(PrePostScriptBackup.EVENT_DETAIL_TYPE).toBe('BackupSolution-PrePostScript');
  });

  test('a schedule rule with an empty input when a schedule is set, none otherwise', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      Targets: [Match.objectLike({ Input: '{}' })],
    });
    const unscheduled = template(fullProps({ schedule: undefined }));
    expect(Object.values(unscheduled.findResources('AWS::Events::Rule'))
      .filter(r => r.Properties.ScheduleExpression)).toHaveLength(0);
  });

  test('a vault encrypted with a rotating key and a backup role, both created and retained by default', () => {
    t.hasResource('AWS::Backup::BackupVault', {
      DeletionPolicy: 'Retain',
      Properties: { EncryptionKeyArn: Match.anyValue() },
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, Description: Match.stringLikeRegexp('vault') });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'backup.amazonaws.com' } })],
      },
    });
  });

  test('the vault and role a user brings are used instead', () => {
    const app = new App();
    const stack = new Stack(app, 'Own', { env: { account: '123456789012', region: 'eu-west-1' } });
    const vault = backup.BackupVault.fromBackupVaultName(stack, 'Vault', 'central-vault');
    const role = iam.Role.fromRoleArn(stack, 'Role', 'arn:aws:iam::123456789012:role/backup-service', { mutable: false });
    const b = new PrePostScriptBackup(stack, 'B', { backupVault: vault, backupRole: role });
    const own = Template.fromStack(stack);
    own.resourceCountIs('AWS::Backup::BackupVault', 0);
    expect(b.backupVault).toBe(vault);
    expect(b.backupRole).toBe(role);
    own.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: 'iam:PassRole',
          Resource: 'arn:aws:iam::123456789012:role/backup-service',
        })]),
      },
    });
  });

  test('one Lambda function per job, each with a role of its own, on nodejs24.x', () => {
    const functions = t.findResources('AWS::Lambda::Function');
    // 14 (with issue 14's observe-release), the recovery's three (find-unfinished, inspect-chain, record-recovered), and the dry run's preflight-instance.
    expect(Object.keys(functions)).toHaveLength(18);
    const roles = new Set(Object.values(functions).map(f => JSON.stringify(f.Properties.Role)));
    expect(roles.size).toBe(18);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.LoggingConfig?.LogGroup).toBeDefined();
    }
  });

  test('the lease duration is in the validation handler\'s settings: an upper bound of one instance chain', () => {
    const fn = Object.values(t.findResources('AWS::Lambda::Function'))
      .find(f => f.Properties.Environment?.Variables?.SETTINGS);
    const settings = JSON.stringify(fn!.Properties.Environment.Variables.SETTINGS);
    // Two scripts of the default timeout (600 s) + 300 s each, stop and start 900 s each, agent 60 s, then 20 + 900 s
    // after a start,
    // backup 1 h start + 8 h completion + 900 s, each wait's fallback interval once (waiting on events, a bound is
    // noticed at the next fallback look: scripts 300 s each, stop and start 60 s each, backup 900 s), and an hour's margin.
    // Issue 14: plus the release loop's freeze budget (30 minutes) and one look (10 s).
    const expected = 2 * (600 + 300) + 2 * 900 + 980 + (3600 + 8 * 3600 + 900) + (2 * 300 + 2 * 60 + 900) + 1800 + 10 + 3600;
    expect(settings).toContain(`\\"leaseSeconds\\":${expected}`);
  });

  test('issue 15: the scripts\' retries and the pre-script failure policy are in the settings; the lease covers every attempt', () => {
    // SETTINGS is an Fn::Join (bucket names are tokens): read it as text.
    const settingsOf = (tpl: Template) => JSON.stringify(Object.values(tpl.findResources('AWS::Lambda::Function'))
      .find(f => f.Properties.Environment?.Variables?.SETTINGS)!.Properties.Environment.Variables.SETTINGS).replace(/\\"/g, '"');
    const retriesOf = (text: string) => [...text.matchAll(/"retries":(\d+)/g)].map(m => Number(m[1]));
    const leaseOf = (text: string) => Number(/"leaseSeconds":(\d+)/.exec(text)![1]);
    const plain = settingsOf(t);
    expect(retriesOf(plain)).toEqual([0, 0]);
    expect(plain).toContain('"onPreScriptFailure":"skip-backup"');
    const retried = settingsOf(template(fullProps({
      preScript: BackupScript.fromAsset(path.join(__dirname, '..', 'fixtures', 'freeze.sh'), { retries: 2 }),
      onPreScriptFailure: PreScriptFailurePolicy.BACKUP_CRASH_CONSISTENT,
    })));
    expect(retriesOf(retried)).toEqual([2, 0]);
    expect(retried).toContain('"onPreScriptFailure":"backup-crash-consistent"');
    // Each retry of the pre-script: its timeout + 300 s, the agent check's 60 s, the 15 s pause, one 300 s fallback look.
    expect(leaseOf(retried) - leaseOf(plain)).toBe(2 * (600 + 300 + 60 + 15 + 300));
  });

  test('the scripts are uploaded as assets and configured for the validation handler', () => {
    const fn = Object.values(t.findResources('AWS::Lambda::Function'))
      .find(f => f.Properties.Environment?.Variables?.SETTINGS);
    const settings = JSON.stringify(fn!.Properties.Environment.Variables.SETTINGS);
    // SSM saves the script under its key's last segment (<asset hash>.sh): the command line names that file.
    expect(settings).toMatch(/bash [0-9a-f]{64}\.sh/);
    expect(settings).not.toContain('bash freeze.sh');
    expect(settings).toContain('cdk-hnb659fds-assets-123456789012-eu-west-1');
    expect(settings).toMatch(/[0-9a-f]{64}\.sh/);
  });
});

describe('IAM', () => {
  const t = template(fullProps({ releaseAt: ReleaseTiming.POINT_IN_TIME }));
  const statements = Object.values(t.findResources('AWS::IAM::Policy'))
    .flatMap(p => p.Properties.PolicyDocument.Statement as Statement[]);
  const withAction = (action: string) => statements.filter(s => asList(s.Action).includes(action));
  const taggedCondition = { StringEquals: { 'aws:ResourceTag/backup-job-pre-post-script': 'true' } };
  const instanceArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:eu-west-1:123456789012:instance/*']] };

  // Two roles hold each: the acting function's, and (issue 15) the dry run's preflight-instance, which only sends them
  // with DryRun: true (EC2 answers a DryRun for the caller's own permissions, so it needs the same statement).
  test.each(['ec2:StopInstances', 'ec2:StartInstances'])('%s only on instances carrying the backup tag', action => {
    const found = withAction(action);
    expect(found).toHaveLength(2);
    for (const statement of found) {
      expect(statement.Resource).toEqual(instanceArn);
      expect(statement.Condition).toEqual(taggedCondition);
    }
  });

  // send-script's, and (issue 15) the dry run's probe: the same document, the same tagged instances.
  test('ssm:SendCommand on the AWS-RunRemoteScript document and on tagged instances only', () => {
    const found = withAction('ssm:SendCommand');
    expect(found).toHaveLength(4);
    const onInstances = found.filter(s => JSON.stringify(s.Resource).includes('instance/*'));
    expect(onInstances).toHaveLength(2);
    for (const statement of onInstances) expect(statement.Condition).toEqual(taggedCondition);
    const onDocument = found.filter(s => JSON.stringify(s.Resource).includes('document/AWS-RunRemoteScript'));
    expect(onDocument).toHaveLength(2);
    for (const statement of onDocument) expect(JSON.stringify(statement.Resource)).not.toContain('*');
  });

  test('issue 15: the dry run\'s function may read the configured vault only, and holds no journal, lease or backup permission', () => {
    const role = Object.entries(t.findResources('AWS::IAM::Role')).find(([id]) => /PreflightInstanceRole/.test(id))![0];
    const own = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter(p => JSON.stringify(p.Properties.Roles).includes(role))
      .flatMap(p => p.Properties.PolicyDocument.Statement as Statement[]);
    const actions = own.flatMap(s => asList(s.Action)).sort();
    expect(actions).toEqual([
      'backup:DescribeBackupVault', 'ec2:DescribeInstances', 'ec2:StartInstances', 'ec2:StopInstances',
      'logs:CreateLogStream', 'logs:PutLogEvents', 'ssm:DescribeInstanceInformation', 'ssm:ListCommandInvocations',
      'ssm:SendCommand', 'ssm:SendCommand',
    ]);
    const vault = own.find(s => asList(s.Action).includes('backup:DescribeBackupVault'))!;
    expect(JSON.stringify(vault.Resource)).toMatch(/BackupVault/);
    expect(JSON.stringify(vault.Resource)).not.toContain('*');
  });

  test('iam:PassRole only for the backup role, only to AWS Backup', () => {
    const found = withAction('iam:PassRole');
    expect(found).toHaveLength(1);
    expect(found[0].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/BackupRole/), 'Arn'] });
    expect(found[0].Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'backup.amazonaws.com' } });
  });

  test('releasing at the point in time: observe-release reads its journal items and describes, nothing else', () => {
    const found = withAction('ec2:DescribeSnapshots');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Effect: 'Allow',
      Resource: '*',
      Action: ['backup:DescribeBackupJob', 'ec2:DescribeInstances', 'ec2:DescribeImages', 'ec2:DescribeSnapshots'],
    });
    const journal = statements.filter(s => s.Sid === 'ReadThisRunsJournalOnly');
    expect(journal).toHaveLength(1);
    expect(journal[0]).toMatchObject({
      Action: 'dynamodb:GetItem',
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['JOURNAL#*'] } },
    });
    // Issue 14, the run's shared snapshot view: its own items only (SNAPVIEW#*), on the audit table.
    const view = statements.filter(s => s.Sid === 'KeepTheRunsSnapshotViewOnly');
    expect(view).toHaveLength(1);
    expect(view[0]).toMatchObject({
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'],
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SNAPVIEW#*'] } },
    });
    expect(view[0].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/AuditTable/), 'Arn'] });
  });

  test('observe-release always (the release loop and the check at the job\'s end); stop-backup-job only with STOP_BACKUP_JOB', () => {
    const functions = (tpl: Template) => Object.keys(tpl.findResources('AWS::Lambda::Function'));
    const plain = functions(template());
    expect(plain.some(id => id.includes('ObserveRelease'))).toBe(true);
    expect(plain.some(id => id.includes('StopBackupJob'))).toBe(false);
    const stopping = template(fullProps({ onFreezeBudgetSpent: FreezeBudgetAction.STOP_BACKUP_JOB }));
    expect(functions(stopping).some(id => id.includes('StopBackupJob'))).toBe(true);
    // StopBackupJob has no resource type (Service Authorization Reference): '*'; besides it the role writes its own logs only.
    const role = Object.entries(stopping.findResources('AWS::IAM::Policy')).find(([id]) => id.includes('StopBackupJob'))![1];
    const stopStatements = role.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>;
    expect(stopStatements.map(st => st.Action).flat().sort()).toEqual(['backup:StopBackupJob', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(stopStatements).toContainEqual(expect.objectContaining({ Action: 'backup:StopBackupJob', Resource: '*' }));
  });

  test('backup:StartBackupJob only into the vault', () => {
    const found = withAction('backup:StartBackupJob');
    expect(found).toHaveLength(1);
    expect(found[0].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/BackupVault/), 'BackupVaultArn'] });
  });

  test('no Resource "*" for an action that supports resource-level permissions', () => {
    // Actions IAM only evaluates against "*" (no resource types in the service authorization reference).
    const unscopable = new Set([
      'ec2:DescribeInstances', 'ssm:DescribeInstanceInformation', 'ssm:ListCommandInvocations',
      'ssm:GetCommandInvocation', 'ssm:CancelCommand', 'backup:DescribeBackupJob', 'states:SendTaskSuccess',
      'backup:ListBackupJobs', 'backup:ListCopyJobs', 'backup:DescribeCopyJob',
      'ec2:DescribeImages', 'ec2:DescribeSnapshots',
      'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets',
      'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
    ]);
    const offending = statements
      .filter(s => asList(s.Resource).includes('*'))
      .flatMap(s => asList(s.Action))
      .filter(a => !unscopable.has(a));
    expect(offending).toEqual([]);
  });

  test('the README says what the SendTaskSuccess policy does: Resource "*" (no resource type), scoped by the task token', () => {
    const found = withAction('states:SendTaskSuccess');
    expect(found.length).toBeGreaterThan(0);
    found.forEach(s => expect(asList(s.Resource)).toEqual(['*']));
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme).not.toMatch(/SendTaskSuccess`? on this state machine only/);
    expect(readme).not.toMatch(/SendTaskSuccess`? on the state machine's child executions/);
    expect(readme).toMatch(/`states:SendTaskSuccess`\. IAM cannot scope that action: the Service Authorization Reference lists no resource type for it, so the policy names `\*`/);
  });

  test('the audit handlers write only to the audit table and read only its run index', () => {
    const put = withAction('dynamodb:PutItem').map(s => JSON.stringify(s.Resource));
    expect(put.length).toBeGreaterThan(0);
    put.forEach(r => expect(r).toMatch(/AuditTable/));
    const query = withAction('dynamodb:Query');
    expect(query).toHaveLength(1);
    expect(JSON.stringify(query[0].Resource)).toContain('/index/RunIndex');
    // Only the lease handler deletes lease items, and the waiting handlers their waits' items; nothing else deletes.
    const del = withAction('dynamodb:DeleteItem');
    expect(del.length).toBeGreaterThan(1);
    for (const statement of del) {
      expect([leaseItemsOnly, waitItemsOnly]).toContainEqual(statement.Condition);
    }
    expect(del.filter(st => JSON.stringify(st.Condition) === JSON.stringify(leaseItemsOnly))).toHaveLength(1);
    expect(withAction('dynamodb:Scan')).toHaveLength(0);
  });

  const leaseItemsOnly = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LEASE#*'] } };
  const waitItemsOnly = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['WAIT#*'] } };
  const journalItemsOnly = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['JOURNAL#*'] } };
  const policyOfRole = (roleId: RegExp) => Object.values(t.findResources('AWS::IAM::Policy'))
    .filter(p => (p.Properties.Roles as { Ref: string }[]).some(r => roleId.test(r.Ref)))
    .flatMap(p => p.Properties.PolicyDocument.Statement as Statement[])
    .filter(st => asList(st.Action).some(a => a.startsWith('dynamodb:')));

  test.each([
    ['AcquireLease', ['dynamodb:PutItem', 'dynamodb:GetItem']],
    ['ReleaseLease', ['dynamodb:DeleteItem']],
  ])('the %s role touches lease items of the audit table only (LeadingKeys LEASE#*)', (id, actions) => {
    const found = policyOfRole(new RegExp(`Handlers${id}Role`));
    expect(found).toHaveLength(1);
    expect(asList(found[0].Action).sort()).toEqual([...actions].sort());
    expect(found[0].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/AuditTable/), 'Arn'] });
    expect(found[0].Condition).toEqual(leaseItemsOnly);
  });

  test('script status is read with ListCommandInvocations (AWS-RunRemoteScript has several steps); GetCommandInvocation is granted to no one', () => {
    expect(withAction('ssm:GetCommandInvocation')).toEqual([]);
    const roleOf = (fn: RegExp) => {
      const [, f] = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => fn.test(id))!;
      const roleId = f.Properties.Role['Fn::GetAtt'][0];
      return Object.values(t.findResources('AWS::IAM::Policy'))
        .filter(p => p.Properties.Roles.some((r: any) => r.Ref === roleId))
        .flatMap(p => (p.Properties.PolicyDocument.Statement as Statement[]).flatMap(st => asList(st.Action)));
    };
    for (const fn of [/HandlersSendScript[0-9A-F]{8}$/, /HandlersResumeWait[0-9A-F]{8}$/]) {
      expect(roleOf(fn)).toContain('ssm:ListCommandInvocations');
    }
  });

  test('the lease functions are the only ones with a LeadingKeys condition, and know only the table name', () => {
    const functions = Object.entries(t.findResources('AWS::Lambda::Function'))
      .filter(([id]) => /Handlers(Acquire|Release)Lease[0-9A-F]{8}$/.test(id));
    expect(functions).toHaveLength(2);
    for (const [, fn] of functions) {
      expect(Object.keys(fn.Properties.Environment.Variables).sort()).toEqual(['AUDIT_TABLE_NAME', 'AWS_NODEJS_CONNECTION_REUSE_ENABLED']);
    }
    const conditioned = statements.filter(st => JSON.stringify(st.Condition ?? {}).includes('dynamodb:LeadingKeys'));
    expect(conditioned.filter(st => JSON.stringify(st.Condition) === JSON.stringify(leaseItemsOnly))).toHaveLength(2);
    // The rest are the waiting steps' (register) and resume-wait's (find, clear): WAIT# items only; the acting steps' and
    // the recovery's journal (JOURNAL#); find-unfinished's and record-run's page manifests (PAGE#); observe-release's
    // snapshot view (SNAPVIEW#).
    const keysOnly = (prefix: string) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [prefix] } });
    for (const st of conditioned.filter(c => JSON.stringify(c.Condition) !== JSON.stringify(leaseItemsOnly))) {
      expect([waitItemsOnly, keysOnly('JOURNAL#*'), keysOnly('PAGE#*'), keysOnly('SNAPVIEW#*')]).toContainEqual(st.Condition);
    }
    const page = conditioned.filter(st => JSON.stringify(st.Condition) === JSON.stringify(keysOnly('PAGE#*')));
    expect(page.map(st => asList(st.Action).sort())).toEqual([['dynamodb:GetItem', 'dynamodb:UpdateItem'], ['dynamodb:BatchGetItem']]);
  });

  test.each(['SendScript', 'StopInstance', 'StartInstance', 'StartBackupJob'])(
    'the %s role journals its actions: UpdateItem and GetItem on JOURNAL# items of the audit table only', (id) => {
      const journal = policyOfRole(new RegExp(`Handlers${id}Role`))
        .filter(st => JSON.stringify(st.Condition ?? {}) === JSON.stringify(journalItemsOnly));
      expect(journal).toHaveLength(1);
      expect(asList(journal[0].Action).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
      expect(journal[0].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/AuditTable/), 'Arn'] });
    });
});

describe('grants and metrics', () => {
  test('grantInstanceAccess lets an instance role read exactly the script objects and write script output', () => {
    const { stack, backup: b } = consumerStack(fullProps({
      scriptOutputBucket: undefined,
    }));
    const role = new iam.Role(stack, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    b.grantInstanceAccess(role);
    const t = Template.fromStack(stack);
    const policy = Object.values(t.findResources('AWS::IAM::Policy'))
      .find(p => p.Properties.Roles[0].Ref.startsWith('InstanceRole'));
    const text = JSON.stringify(policy);
    expect(text).toContain('s3:GetObject*');
    expect(text).toMatch(/[0-9a-f]{64}\.sh/);
    expect(text).not.toContain('s3:PutObject');
  });

  test('with an output bucket, grantInstanceAccess also allows writing under the output prefix', () => {
    const app = new App();
    const stack = new Stack(app, 'Out', { env: { account: '123456789012', region: 'eu-west-1' } });
    const bucket = s3.Bucket.fromBucketName(stack, 'Output', 'script-output');
    const b = new PrePostScriptBackup(stack, 'B', {
      preScript: BackupScript.fromAsset(path.join(__dirname, '..', 'fixtures', 'freeze.sh')),
      scriptOutputBucket: bucket,
      scriptOutputKeyPrefix: 'runs',
    });
    const role = new iam.Role(stack, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    b.grantInstanceAccess(role);
    const text = JSON.stringify(Template.fromStack(stack).toJSON());
    expect(text).toContain('s3:PutObject');
    expect(text).toContain('script-output/runs/*');
    const sendCommand = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .flatMap(p => p.Properties.PolicyDocument.Statement as Statement[])
      .filter(st => asList(st.Action).includes('ssm:SendCommand'));
    expect(sendCommand.map(st => JSON.stringify(st.Resource))).toContainEqual(expect.stringContaining(':s3:::script-output'));
  });

  test('grantStartExecution, grantPutEvents and grantReadAuditTable', () => {
    const { stack, backup: b } = consumerStack();
    const role = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    b.grantStartExecution(role);
    b.grantPutEvents(role);
    b.grantReadAuditTable(role);
    const text = JSON.stringify(Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .filter(p => p.Properties.Roles[0].Ref.startsWith('Operator')));
    expect(text).toContain('states:StartExecution');
    expect(text).toContain('events:PutEvents');
    expect(text).toContain('dynamodb:GetItem');
    expect(text).not.toContain('dynamodb:PutItem');
  });

  test('run metrics come from the state machine', () => {
    const { stack, backup: b } = consumerStack();
    const failed = b.metricRunsFailed({ period: Duration.minutes(1) });
    expect(failed.namespace).toBe('AWS/States');
    expect(failed.metricName).toBe('ExecutionsFailed');
    expect(failed.period.toMinutes()).toBe(1);
    expect(stack.resolve(failed.dimensions)).toEqual({ StateMachineArn: { Ref: expect.stringMatching(/StateMachine/) } });
    expect(b.metricRunsSucceeded().metricName).toBe('ExecutionsSucceeded');
    expect(b.metricRunsTimedOut().metricName).toBe('ExecutionsTimedOut');
  });
});

interface Statement {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

function asList<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}
