/**
 * The EventBridge rules that resume waiting Tasks: on the account's default bus (AWS services publish there), only
 * the final states, to resume-wait with the construct's dead-letter queue.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import { PrePostScriptBackup, PrePostScriptBackupProps } from '../../src';
import { waitOf } from '../../src/contract/events';
import { WAITS_CONTEXT_KEY } from '../../src/workflow/waiting-task';
import { fullProps } from '../helpers/stacks';
import { eventEnvelope } from '../simulator/events/envelope';
import { matchesPattern } from '../simulator/events/pattern';

interface Rule { id: string; props: Record<string, any> }

function synth(props: PrePostScriptBackupProps = {}, context: Record<string, unknown> = {}, copies = true): Template {
  const app = new App({ context });
  const stack = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'eu-west-1' } });
  const dr = copies ? backup.BackupVault.fromBackupVaultArn(stack, 'Dr', 'arn:aws:backup:us-west-2:123456789012:backup-vault:dr') : undefined;
  new PrePostScriptBackup(stack, 'AppBackup', fullProps({ copyToVault: dr, ...props }));
  return Template.fromStack(stack);
}

const AWS_SOURCES = ['aws.ec2', 'aws.ssm', 'aws.backup'];
/** The rules matching AWS services' events (not the construct's own trigger rules). */
function stateChangeRules(template: Template): Rule[] {
  return Object.entries(template.findResources('AWS::Events::Rule'))
    .map(([id, r]) => ({ id, props: r.Properties }))
    .filter(r => (r.props.EventPattern?.source ?? []).some((s: string) => AWS_SOURCES.includes(s)));
}
const ruleFor = (rules: Rule[], detailType: string) => {
  const found = rules.filter(r => r.props.EventPattern['detail-type']?.includes(detailType));
  expect(found).toHaveLength(1);
  return found[0];
};
const logicalIdOf = (template: Template, type: string, pattern: RegExp) => {
  const ids = Object.keys(template.findResources(type)).filter(id => pattern.test(id));
  expect(ids).toHaveLength(1);
  return ids[0];
};

const INSTANCE = 'i-0123456789abcdef0';
const envelope = (source: string, detailType: string, detail: Record<string, unknown>) =>
  eventEnvelope(source, detailType, new Date('2024-05-01T02:03:04Z'), [], detail);
const ec2 = (state: string) => envelope('aws.ec2', 'EC2 Instance State-change Notification', { 'instance-id': INSTANCE, state });
const ssm = (status: string, document = 'AWS-RunRemoteScript') => envelope('aws.ssm', 'EC2 Command Invocation Status-change Notification',
  { 'command-id': 'cmd-1', 'instance-id': INSTANCE, status, 'document-name': document, 'requested-date-time': '2024-05-01T02:01:00Z' });
const backupJob = (state: string) => envelope('aws.backup', 'Backup Job State Change', { backupJobId: 'job-1', state, backupVaultName: 'v' });
const copyJob = (state: string) => envelope('aws.backup', 'Copy Job State Change', { copyJobId: 'copy-1', state });

describe('with the waits on events (the default)', () => {
  const template = synth();
  const rules = stateChangeRules(template);

  test('four rules, all on the default bus (no EventBusName), all enabled', () => {
    expect(rules).toHaveLength(4);
    for (const rule of rules) {
      expect(rule.props.EventBusName).toBeUndefined();
      expect(rule.props.State ?? 'ENABLED').toBe('ENABLED');
    }
  });

  test('EC2: exactly stopped and running', () => {
    const { props } = ruleFor(rules, 'EC2 Instance State-change Notification');
    expect(props.EventPattern).toEqual({
      'source': ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      'detail': { state: expect.any(Array) },
    });
    expect([...props.EventPattern.detail.state].sort()).toEqual(['running', 'stopped']);
  });

  test('SSM: the final invocation statuses of AWS-RunRemoteScript only', () => {
    const { props } = ruleFor(rules, 'EC2 Command Invocation Status-change Notification');
    expect(props.EventPattern.source).toEqual(['aws.ssm']);
    expect(props.EventPattern.detail['document-name']).toEqual(['AWS-RunRemoteScript']);
    expect([...props.EventPattern.detail.status].sort()).toEqual([
      'Cancelled', 'Delivery Timed Out', 'Execution Timed Out', 'Failed', 'Success', 'Terminated', 'TimedOut', 'Undeliverable',
    ].sort());
  });

  test('Backup: exactly the final job states', () => {
    const { props } = ruleFor(rules, 'Backup Job State Change');
    expect(props.EventPattern.source).toEqual(['aws.backup']);
    expect([...props.EventPattern.detail.state].sort()).toEqual(['ABORTED', 'COMPLETED', 'EXPIRED', 'FAILED', 'PARTIAL']);
  });

  test('Copy: exactly the final copy job states', () => {
    const { props } = ruleFor(rules, 'Copy Job State Change');
    expect(props.EventPattern.source).toEqual(['aws.backup']);
    expect([...props.EventPattern.detail.state].sort()).toEqual(['COMPLETED', 'FAILED', 'PARTIAL']);
  });

  test('real events: the final ones match a rule and map to a wait; the others match none', () => {
    const patterns = rules.map(r => r.props.EventPattern);
    const matched = (e: unknown) => patterns.filter(p => matchesPattern(p, e)).length;
    for (const e of [ec2('stopped'), ec2('running'), ssm('Success'), ssm('Failed'), ssm('Delivery Timed Out'),
      backupJob('COMPLETED'), backupJob('ABORTED'), copyJob('COMPLETED'), copyJob('FAILED')]) {
      expect({ event: e.detail, rules: matched(e) }).toEqual({ event: e.detail, rules: 1 });
      expect(waitOf(e)).toBeDefined();
    }
    for (const e of [ec2('stopping'), ec2('pending'), ec2('terminated'), ssm('InProgress'), ssm('Pending'),
      ssm('Success', 'AWS-RunShellScript'), backupJob('RUNNING'), backupJob('CREATED'), copyJob('RUNNING'),
      envelope('aws.backup', 'Restore Job State Change', { state: 'COMPLETED' })]) {
      expect({ event: e.detail, rules: matched(e) }).toEqual({ event: e.detail, rules: 0 });
    }
  });

  test('every rule targets resume-wait only, with the dead-letter queue, retries and a maximum event age', () => {
    const resumeWait = logicalIdOf(template, 'AWS::Lambda::Function', /^AppBackupHandlersResumeWait[0-9A-F]{8}$/);
    const dlq = logicalIdOf(template, 'AWS::SQS::Queue', /^AppBackupTriggersDeadLetterQueue[0-9A-F]{8}$/);
    for (const { props } of rules) {
      expect(props.Targets).toHaveLength(1);
      expect(props.Targets[0]).toMatchObject({
        Arn: { 'Fn::GetAtt': [resumeWait, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) },
      });
      expect(props.Targets[0].RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    }
  });

  test('EventBridge may invoke resume-wait for each rule, and the rules may send to the dead-letter queue', () => {
    const resumeWait = logicalIdOf(template, 'AWS::Lambda::Function', /^AppBackupHandlersResumeWait[0-9A-F]{8}$/);
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'))
      .filter(p => JSON.stringify(p.Properties.FunctionName).includes(resumeWait));
    const sources = permissions.map(p => JSON.stringify(p.Properties.SourceArn));
    for (const rule of rules) {
      expect(sources.some(s => s.includes(`"${rule.id}"`))).toBe(true);
    }
    for (const p of permissions) {
      expect(p.Properties).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' });
    }
    const queuePolicies = JSON.stringify(template.findResources('AWS::SQS::QueuePolicy'));
    for (const rule of rules) {
      expect(queuePolicies).toContain(rule.id);
    }
  });

  test('resume-wait is invoked by no one else: its function is not a step of the state machine', () => {
    const resumeWait = logicalIdOf(template, 'AWS::Lambda::Function', /^AppBackupHandlersResumeWait[0-9A-F]{8}$/);
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    expect(JSON.stringify(machine.Properties.DefinitionString)).not.toContain(resumeWait);
  });
});

test('without copyToVault there is no copy rule', () => {
  const rules = stateChangeRules(synth({}, {}, false));
  expect(rules).toHaveLength(3);
  expect(rules.flatMap(r => r.props.EventPattern['detail-type'])).not.toContain('Copy Job State Change');
});

test('with the waits polled there are no state-change rules and no resume-wait', () => {
  const template = synth({}, { [WAITS_CONTEXT_KEY]: 'polling' });
  expect(stateChangeRules(template)).toEqual([]);
  expect(Object.keys(template.findResources('AWS::Lambda::Function')).filter(id => id.includes('ResumeWait'))).toEqual([]);
});
