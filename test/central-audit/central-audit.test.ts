import { App, CfnParameter, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PrePostScriptBackupCentralAudit } from '../../src';
import { RUN_SUMMARY_DETAIL_TYPE, RUN_SUMMARY_SOURCE } from '../../src/contract/run-summary-event';
import { CENTRAL_ACCOUNT, CENTRAL_REGION, centralStack, centralTemplate, everyOption, ORG_ID } from '../helpers/central';
import { definitionOf } from '../helpers/definition';

describe('the central bus', () => {
  test('is named as asked, and its policy admits PutEvents of run summaries from the organization only', () => {
    const t = centralTemplate(everyOption());
    t.resourceCountIs('AWS::Events::EventBus', 1);
    t.hasResourceProperties('AWS::Events::EventBus', { Name: 'pre-post-script-backup-runs' });
    t.resourceCountIs('AWS::Events::EventBusPolicy', 1);
    t.hasResourceProperties('AWS::Events::EventBusPolicy', {
      EventBusName: { Ref: Match.stringLikeRegexp('^BackupAuditEventBus') },
      Statement: {
        Effect: 'Allow',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BackupAuditEventBus'), 'Arn'] },
        Condition: {
          'StringEquals': { 'aws:PrincipalOrgID': ORG_ID },
          'ForAllValues:StringEquals': { 'events:source': [RUN_SUMMARY_SOURCE], 'events:detail-type': [RUN_SUMMARY_DETAIL_TYPE] },
        },
      },
    });
  });

  test('has a deterministic name by default, so member stacks in other accounts can reference its ARN', () => {
    const t = centralTemplate();
    const [bus] = Object.values(t.findResources('AWS::Events::EventBus'));
    expect(bus.Properties.Name).toMatch(/^Central-BackupAudit-[0-9A-F]{8}$/);
    expect(centralTemplate().findResources('AWS::Events::EventBus')).toEqual(t.findResources('AWS::Events::EventBus'));
  });

  test('a member stack in another account and Region references the bus by a literal ARN', () => {
    const app = new App();
    const { central } = centralStack({}, app);
    const member = new Stack(app, 'Member', { env: { account: '111122223333', region: 'eu-west-1' } });
    const role = new iam.Role(member, 'Sender', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    central.grantPutEvents(role);
    const name = Template.fromStack(central.node.scope as Stack).findResources('AWS::Events::EventBus');
    const busName = Object.values(name)[0].Properties.Name;
    Template.fromStack(member).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{
          Action: 'events:PutEvents',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:events:${CENTRAL_REGION}:${CENTRAL_ACCOUNT}:event-bus/${busName}`]] },
        }],
      },
    });
  });
});

describe('the summary rule', () => {
  test('matches run summaries on the central bus and starts the EXPRESS state machine, with retries and a DLQ', () => {
    const t = centralTemplate();
    t.resourceCountIs('AWS::Events::Rule', 1);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^BackupAuditEventBus') },
      EventPattern: { 'source': [RUN_SUMMARY_SOURCE], 'detail-type': [RUN_SUMMARY_DETAIL_TYPE] },
      Targets: [{
        Arn: { Ref: Match.stringLikeRegexp('^BackupAuditStateMachine') },
        RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BackupAuditStateMachineEventsRole'), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BackupAuditDeadLetterQueue'), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
      }],
    });
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
    });
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  test('the state machine checks the summary, records it with PutItem, publishes metrics and, when on, notifies', () => {
    const on = definitionOf(centralTemplate(everyOption()));
    expect(on.StartAt).toBe('Inspect summary');
    expect(on.TimeoutSeconds).toBe(300);
    expect(on.States['Record summary']).toMatchObject({ Type: 'Task', Resource: expect.stringMatching(/:states:::dynamodb:putItem$/) });
    expect(on.States['Publish metrics']).toMatchObject({ Type: 'Task', Resource: expect.stringMatching(/:states:::aws-sdk:cloudwatch:putMetricData$/) });
    expect(on.States.Notify).toMatchObject({ Type: 'Task', Resource: expect.stringMatching(/:states:::sns:publish$/) });
    expect(on.States['Reject summary']).toMatchObject({ Type: 'Fail', Error: 'RunSummaryRejected' });
    const off = definitionOf(centralTemplate());
    expect(Object.keys(off.States)).not.toContain('Notify');
  });

  test('the state machine role writes only to the central table, and metrics only in the construct\'s namespace', () => {
    const t = centralTemplate();
    const policies = t.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^BackupAuditStateMachineRoleDefaultPolicy') } });
    const statements = Object.values(policies)[0].Properties.PolicyDocument.Statement as any[];
    expect(statements.map(st => st.Action)).toEqual([
      'dynamodb:PutItem',
      expect.arrayContaining(['logs:CreateLogDelivery']),
      expect.arrayContaining(['xray:PutTraceSegments']),
      'cloudwatch:PutMetricData',
    ]);
    expect(statements[0].Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:dynamodb:${CENTRAL_REGION}:${CENTRAL_ACCOUNT}:table/`, { Ref: expect.stringMatching(/^BackupAuditAuditTable/) }]],
    });
    expect(statements[3]).toEqual({
      Sid: 'PublishCentralMetrics',
      Effect: 'Allow',
      Action: 'cloudwatch:PutMetricData',
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': 'PrePostScriptBackup/Organization' } },
    });
    expect(JSON.stringify(statements)).not.toMatch(/dynamodb:(Delete|Update|BatchWrite)|sns:Publish/);
  });
});

describe('the central table', () => {
  test('is keyed by execution ARN, indexed by account and by status, encrypted, with PITR, deletion protection, retained', () => {
    const t = centralTemplate();
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'SM_Execution_ID', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          {
            IndexName: PrePostScriptBackupCentralAudit.ACCOUNT_INDEX_NAME,
            KeySchema: [{ AttributeName: 'Account', KeyType: 'HASH' }, { AttributeName: 'EndTime', KeyType: 'RANGE' }],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: PrePostScriptBackupCentralAudit.STATUS_INDEX_NAME,
            KeySchema: [{ AttributeName: 'Run_Status', KeyType: 'HASH' }, { AttributeName: 'EndTime', KeyType: 'RANGE' }],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    });
  });
});

describe('the alarm and notifications', () => {
  test('one alarm for the organization: failed runs plus summaries not processed, over 5 minutes', () => {
    const t = centralTemplate();
    t.resourceCountIs('AWS::CloudWatch::Alarm', 1);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: Match.absent(),
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'runsFailed + notProcessed' }),
        Match.objectLike({
          Id: 'runsFailed',
          MetricStat: {
            Metric: {
              Namespace: 'PrePostScriptBackup/Organization',
              MetricName: 'RunsFailed',
              Dimensions: [{ Name: 'CentralEventBus', Value: Match.stringLikeRegexp('^Central-BackupAudit-') }],
            },
            Period: 300,
            Stat: 'Sum',
          },
          ReturnData: false,
        }),
        Match.objectLike({ Id: 'notProcessed', MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'AWS/States', MetricName: 'ExecutionsFailed' }) }) }),
      ]),
    });
    t.resourceCountIs('AWS::SNS::Topic', 0);
  });

  test('with notifications on: an encrypted topic of its own, the alarm and the state machine publish to it', () => {
    const t = centralTemplate(everyOption());
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BackupAuditNotificationsKey'), 'Arn'] } });
    const topicRef = { Ref: Match.stringLikeRegexp('^BackupAuditNotifications') };
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [topicRef] });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^BackupAuditStateMachineRoleDefaultPolicy'),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sns:Publish', Resource: topicRef }),
          Match.objectLike({ Action: ['kms:GenerateDataKey', 'kms:Decrypt'] }),
        ]),
      },
    });
  });

  test('with the user\'s topic: no topic of its own; notifications are on', () => {
    const stack = new Stack(new App(), 'Central', { env: { account: CENTRAL_ACCOUNT, region: CENTRAL_REGION } });
    const topic = new sns.Topic(stack, 'OpsTopic');
    const central = new PrePostScriptBackupCentralAudit(stack, 'BackupAudit', { organizationId: ORG_ID, notificationTopic: topic });
    expect(central.notificationTopic).toBe(topic);
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: Match.stringLikeRegexp('^OpsTopic') }] });
    expect(definitionOf(t).States.Notify).toBeDefined();
  });
});

describe('grants and metrics', () => {
  test('grantReadAuditTable grants reading the table and its indexes, nothing more', () => {
    const { stack, central } = centralStack();
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    central.grantReadAuditTable(role);
    const [policy] = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Reader') }] } }));
    const actions = policy.Properties.PolicyDocument.Statement.flatMap((s: any) => s.Action);
    expect(actions).toContain('dynamodb:Query');
    expect(actions.filter((a: string) => /Put|Update|Delete|Write/.test(a))).toEqual([]);
  });

  test('the metric methods name the central namespace and dimension; metricSummariesNotProcessed is the state machine\'s failures', () => {
    const { stack, central } = centralStack(everyOption());
    const resolve = (m: any) => stack.resolve(m.toMetricConfig().metricStat);
    for (const [metric, name] of [
      [central.metricRunsFailed(), 'RunsFailed'],
      [central.metricRunsSucceeded(), 'RunsSucceeded'],
      [central.metricInstancesSucceeded(), 'InstancesSucceeded'],
      [central.metricInstancesFailed(), 'InstancesFailed'],
      [central.metricInstancesExcluded(), 'InstancesExcluded'],
    ] as const) {
      expect(resolve(metric)).toMatchObject({
        namespace: 'PrePostScriptBackup/Organization',
        metricName: name,
        dimensions: [{ name: 'CentralEventBus', value: 'pre-post-script-backup-runs' }],
        statistic: 'Sum',
      });
    }
    expect(resolve(central.metricSummariesNotProcessed())).toMatchObject({ namespace: 'AWS/States', metricName: 'ExecutionsFailed' });
    expect(central.metricRunsFailed({ statistic: 'Maximum' }).statistic).toBe('Maximum');
  });
});

describe('props validation', () => {
  test.each(['', 'o-short', 'O-A1B2C3D4E5', 'a1b2c3d4e5', 'o-a1b2c3d4e5-', `o-${'a'.repeat(33)}`, 'r-a1b2'])(
    'organizationId %p is refused with how to fix it', (organizationId) => {
      expect(() => centralStack({ organizationId })).toThrow(
        /organizationId must be your AWS Organizations id, 'o-' followed by 10 to 32 lowercase letters or digits .*aws organizations describe-organization/s,
      );
    });

  test.each(['o-a1b2c3d4e5', `o-${'a'.repeat(32)}`, 'o-0123456789'])('organizationId %p is accepted', (organizationId) => {
    expect(() => centralStack({ organizationId })).not.toThrow();
  });

  test('an organizationId token (a parameter) is left to deployment', () => {
    const stack = new Stack(new App(), 'Central');
    const orgId = new CfnParameter(stack, 'OrgId', { allowedPattern: '^o-[a-z0-9]{10,32}$' });
    expect(() => new PrePostScriptBackupCentralAudit(stack, 'BackupAudit', { organizationId: orgId.valueAsString })).not.toThrow();
  });

  test('notificationTopic with enableNotifications false is refused', () => {
    const stack = new Stack(new App(), 'Central');
    const topic = new sns.Topic(stack, 'OpsTopic');
    expect(() => new PrePostScriptBackupCentralAudit(stack, 'BackupAudit', {
      organizationId: ORG_ID, notificationTopic: topic, enableNotifications: false,
    })).toThrow(/notificationTopic is set but enableNotifications is false/);
  });

  test('an invalid eventBusName is refused', () => {
    expect(() => centralStack({ eventBusName: 'default' })).toThrow(/must not be 'default'/);
    expect(() => centralStack({ eventBusName: 'a/b' })).toThrow(/must not contain '\/'/);
  });
});
