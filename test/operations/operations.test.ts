import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PrePostScriptBackup } from '../../src';
import { definitionOf } from '../helpers/definition';
import { consumerStack, everyOption, fullProps } from '../helpers/stacks';

describe('the run alarm', () => {
  test('always there: any failed, timed-out or aborted run in 5 minutes', () => {
    const t = Template.fromStack(consumerStack(fullProps()).stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'failed + timedOut + aborted' }),
        Match.objectLike({ Id: 'failed', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsFailed' }) }) }),
        Match.objectLike({ Id: 'timedOut', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsTimedOut' }) }) }),
        Match.objectLike({ Id: 'aborted', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsAborted' }) }) }),
      ]),
    });
    expect(t.findResources('AWS::CloudWatch::Alarm')[Object.keys(t.findResources('AWS::CloudWatch::Alarm'))[0]].Properties.AlarmActions).toBeUndefined();
  });
});

describe('notifications', () => {
  test('off by default: no topic, no Notify state', () => {
    const { stack, backup: b } = consumerStack(fullProps());
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::SNS::Topic', 0);
    expect(b.notificationTopic).toBeUndefined();
    expect(definitionOf(t).States.Notify).toBeUndefined();
  });

  test('enabled: an encrypted, HTTPS-only topic; failed runs are published; the alarm notifies it', () => {
    const { stack, backup: b } = consumerStack(fullProps({ enableNotifications: true }));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    expect(b.notificationTopic).toBeDefined();
    const states = definitionOf(t).States;
    expect(states['Write run audit record'].Next).toBe('Run failed: notify?');
    expect(states['Run failed: notify?'].Choices).toEqual([expect.objectContaining({ StringEquals: 'SUCCEEDED', Next: 'Every instance succeeded?' })]);
    expect(states['Run failed: notify?'].Default).toBe('Notify');
    expect(states.Notify).toMatchObject({
      Type: 'Task',
      Parameters: { 'Subject.$': '$.result.notificationSubject', 'Message.$': '$.result.notificationMessage' },
      Next: 'Every instance succeeded?',
      Catch: [expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Every instance succeeded?' })],
    });
    const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm'))[0];
    expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/Notifications/) }]);
    const smPolicy = JSON.stringify(Object.values(t.findResources('AWS::IAM::Policy'))
      .filter(p => JSON.stringify(p.Properties.Roles).includes('StateMachineRole')));
    expect(smPolicy).toContain('sns:Publish');
    expect(smPolicy).toContain('"kms:GenerateDataKey","kms:Decrypt"');
  });

  test('notifyOnSuccess publishes every run', () => {
    const states = definitionOf(Template.fromStack(consumerStack(fullProps({ enableNotifications: true, notifyOnSuccess: true })).stack)).States;
    expect(states['Write run audit record'].Next).toBe('Notify');
    expect(states['Run failed: notify?']).toBeUndefined();
  });

  test('a topic of the user is used as it is', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const topic = sns.Topic.fromTopicArn(stack, 'T', 'arn:aws:sns:eu-west-1:123456789012:ops');
    const b = new PrePostScriptBackup(stack, 'B', { notificationTopic: topic });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::SNS::Topic', 0);
    expect(b.notificationTopic).toBe(topic);
    expect(definitionOf(t).States.Notify).toMatchObject({ Parameters: { TopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' } });
  });

  test('a topic with notifications switched off is a contradiction', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const topic = sns.Topic.fromTopicArn(stack, 'T', 'arn:aws:sns:eu-west-1:123456789012:ops');
    expect(() => new PrePostScriptBackup(stack, 'B', { notificationTopic: topic, enableNotifications: false }))
      .toThrow(/notificationTopic is set but enableNotifications is false/);
  });
});

describe('metrics and dashboard', () => {
  test('per-instance metrics: the workflow emits them, the construct reads them', () => {
    const { stack, backup: b } = consumerStack(fullProps());
    for (const [metric, name] of [
      [b.metricInstancesSucceeded(), 'InstancesSucceeded'],
      [b.metricInstancesFailed({ period: Duration.hours(1) }), 'InstancesFailed'],
      [b.metricInstancesExcluded(), 'InstancesExcluded'],
      [b.metricInstancesSkipped(), 'InstancesSkipped'],
    ] as const) {
      expect(metric.namespace).toBe('PrePostScriptBackup');
      expect(metric.metricName).toBe(name);
      expect(metric.statistic).toBe('Sum');
      expect(Object.keys(metric.dimensions ?? {})).toEqual(['StateMachineName']);
    }
    expect(b.metricInstancesFailed({ period: Duration.hours(1) }).period.toHours()).toBe(1);
    const downtime = b.metricInstanceStoppedSeconds();
    expect([downtime.metricName, downtime.statistic]).toEqual(['InstanceStoppedSeconds', 'Maximum']);
    const emitting = Object.entries(Template.fromStack(stack).findResources('AWS::Lambda::Function'))
      .filter(([, f]) => f.Properties.Environment?.Variables?.EMIT_METRICS === 'true').map(([id]) => id);
    expect(emitting).toEqual([expect.stringMatching(/HandlersRecordRun/)]);
  });

  test('a dashboard only when asked', () => {
    expect(consumerStack(fullProps()).backup.dashboard).toBeUndefined();
    const { stack, backup: b } = consumerStack(fullProps({ createDashboard: true }));
    expect(b.dashboard).toBeDefined();
    const body = JSON.stringify(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
    for (const text of ['InstancesSucceeded', 'InstancesFailed', 'InstancesSkipped', 'InstanceStoppedSeconds', 'ExecutionsSucceeded', 'failed + timedOut + aborted']) {
      expect(body).toContain(text);
    }
  });
});

describe('vault lock', () => {
  test('locks the created vault, and recovery points are kept as long as the lock allows', () => {
    const { stack } = consumerStack(fullProps({ backupVaultLock: { minRetention: Duration.days(7), maxRetention: Duration.days(35) } }));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Backup::BackupVault', { LockConfiguration: { MinRetentionDays: 7, MaxRetentionDays: 35 } });
    const fn = Object.values(t.findResources('AWS::Lambda::Function')).find(f => f.Properties.Environment?.Variables?.SETTINGS);
    expect(JSON.stringify(fn!.Properties.Environment.Variables.SETTINGS)).toContain('\\"deleteAfterDays\\":35');
  });

  test.each([
    ['shorter than the minimum', { backupDeleteAfter: Duration.days(3) }, /shorter than the vault lock's minRetention/],
    ['longer than the maximum', { backupDeleteAfter: Duration.days(400) }, /longer than the vault lock's maxRetention/],
  ])('a lifecycle %s is rejected', (_name, props, message) => {
    expect(() => consumerStack(fullProps({ backupVaultLock: { minRetention: Duration.days(7), maxRetention: Duration.days(35) }, ...props })))
      .toThrow(message);
  });

  test('only on the vault the construct creates', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const vault = backup.BackupVault.fromBackupVaultName(stack, 'V', 'mine');
    expect(() => new PrePostScriptBackup(stack, 'B', { backupVault: vault, backupVaultLock: { minRetention: Duration.days(1) } }))
      .toThrow(/backupVaultLock applies to the vault the construct creates/);
  });

  test('every option on synthesizes', () => {
    expect(() => consumerStack(everyOption())).not.toThrow();
  });
});

describe('VPC', () => {
  test('the functions run in the given VPC and subnets', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new PrePostScriptBackup(stack, 'B', { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    // Every function: the 13 of the workflow and resume-wait, the recovery's find-unfinished, inspect-chain, record-recovered,
    // the dry run's preflight-instance (issue 15), and observe-release (issue 14, always).
    expect(functions).toHaveLength(18);
    for (const fn of functions) {
      expect(fn.Properties.VpcConfig.SubnetIds.length).toBe(3);
    }
  });

  test('without a VPC the functions run outside one', () => {
    const functions = Object.values(Template.fromStack(consumerStack(fullProps()).stack).findResources('AWS::Lambda::Function'));
    for (const fn of functions) {
      expect(fn.Properties.VpcConfig).toBeUndefined();
    }
  });
});

describe('copies to another vault', () => {
  const DR = 'arn:aws:backup:us-west-2:123456789012:backup-vault:dr';
  function withCopies(extra = {}) {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const vault = backup.BackupVault.fromBackupVaultArn(stack, 'Dr', DR);
    new PrePostScriptBackup(stack, 'B', { ...fullProps(), copyToVault: vault, copyDeleteAfter: Duration.days(90), ...extra });
    return Template.fromStack(stack);
  }

  test('one more function; StartCopyJob only on this account\'s recovery points, PassRole only to AWS Backup', () => {
    const t = withCopies();
    const without = Template.fromStack(consumerStack(fullProps()).stack);
    // start-copy-job (waiting on events, it also looks at the copy job itself: no describe function).
    expect(Object.keys(t.findResources('AWS::Lambda::Function')).length)
      .toBe(Object.keys(without.findResources('AWS::Lambda::Function')).length + 1);
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(p => p.Properties.PolicyDocument.Statement as any[]);
    const copy = statements.filter(st => [st.Action].flat().includes('backup:StartCopyJob'));
    expect(copy).toHaveLength(1);
    expect(JSON.stringify(copy[0].Resource)).toBe(JSON.stringify([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:eu-west-1::image/*']] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':backup:eu-west-1:123456789012:recovery-point:*']] },
    ]));
    const passRole = statements.filter(st => [st.Action].flat().includes('iam:PassRole'));
    expect(passRole).toHaveLength(2);
    for (const st of passRole) expect(st.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'backup.amazonaws.com' } });
    const fn = Object.values(t.findResources('AWS::Lambda::Function')).find(f => f.Properties.Environment?.Variables?.SETTINGS);
    const settings = JSON.stringify(fn!.Properties.Environment.Variables.SETTINGS);
    expect(settings).toContain(`\\"copyVaultArn\\":\\"${DR}\\"`);
    expect(settings).toContain('\\"copyDeleteAfterDays\\":90');
  });

  test('the copy runs at the end of every instance chain, only after a completed backup', () => {
    const states = JSON.stringify(definitionOf(withCopies()));
    expect(states).toContain('"Copy the recovery point?"');
    expect(states).toContain('"Copy job"');
    expect(definitionOf(Template.fromStack(consumerStack(fullProps()).stack)).States['For each page'].ItemProcessor!.States['For each instance']).toBeDefined();
    expect(JSON.stringify(definitionOf(Template.fromStack(consumerStack(fullProps()).stack)))).not.toContain('Copy');
  });

  test('copyDeleteAfter needs copyToVault and whole days', () => {
    expect(() => consumerStack(fullProps({ copyDeleteAfter: Duration.days(30) }))).toThrow(/copyDeleteAfter is set but copyToVault is not/);
    expect(() => withCopies({ copyDeleteAfter: Duration.hours(12) })).toThrow(/copyDeleteAfter must be a whole number of days/);
  });

  test('cdk-nag stays clean with copies (the recovery point wildcards are suppressed narrowly)', () => {
    const t = withCopies();
    const role = Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) => id.includes('StartCopyJob'))!;
    expect(JSON.stringify(role[1].Metadata.cdk_nag)).toContain('recovery points of this account and Region');
  });
});

describe('forwarding run summaries', () => {
  test('one PutEvents to the central bus after the run record, allowed on that bus only; none by default', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const central = events.EventBus.fromEventBusArn(stack, 'Central', 'arn:aws:events:eu-west-1:999988887777:event-bus/backup-central');
    new PrePostScriptBackup(stack, 'B', { ...fullProps(), forwardRunSummariesTo: central });
    const t = Template.fromStack(stack);
    const states = definitionOf(t).States;
    expect(states['Write run audit record'].Next).toBe('Forward run summary');
    expect(states['Forward run summary']).toMatchObject({
      Parameters: {
        Entries: [{
          'Detail.$': '$.result.summary',
          'DetailType': 'BackupSolution-PrePostScript-RunSummary',
          'EventBusName': 'arn:aws:events:eu-west-1:999988887777:event-bus/backup-central',
          'Source': 'pre-post-script-backup',
        }],
      },
      Next: 'Every instance succeeded?',
      Catch: [expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Every instance succeeded?' })],
    });
    const puts = Object.values(t.findResources('AWS::IAM::Policy')).flatMap(p => p.Properties.PolicyDocument.Statement as any[])
      .filter(st => [st.Action].flat().includes('events:PutEvents'));
    expect(puts.map(st => st.Resource)).toEqual(['arn:aws:events:eu-west-1:999988887777:event-bus/backup-central']);
    expect(definitionOf(Template.fromStack(consumerStack(fullProps()).stack)).States['Forward run summary']).toBeUndefined();
  });
});
