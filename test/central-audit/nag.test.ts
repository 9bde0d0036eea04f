import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { SynthesisMessage } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks } from 'cdk-nag';
import { PrePostScriptBackupCentralAudit } from '../../src';
import { CENTRAL_ACCOUNT, CENTRAL_REGION, centralStack, everyOption, ORG_ID } from '../helpers/central';

/** cdk-nag on a central stack as a consumer writes it, with no suppression of the consumer's own. */
function findings(stack: Stack, pack: NagPack, prefix: string): string[] {
  Aspects.of(stack).add(pack);
  const annotations = Annotations.fromStack(stack);
  const messages: SynthesisMessage[] = [
    ...annotations.findError('*', Match.stringLikeRegexp(prefix)),
    ...annotations.findWarning('*', Match.stringLikeRegexp(prefix)),
  ];
  return messages.map(m => `${m.id}: ${String(m.entry.data).split(']: ')[0]}]`);
}

const packs: [string, () => NagPack, string][] = [
  ['AwsSolutions', () => new AwsSolutionsChecks({ verbose: true }), 'AwsSolutions-'],
  ['NIST 800-53 rev 5', () => new NIST80053R5Checks({ verbose: true }), 'NIST.800.53.R5-'],
  ['HIPAA Security', () => new HIPAASecurityChecks({ verbose: true }), 'HIPAA.Security-'],
];

describe.each(packs)('cdk-nag %s on a central stack', (_name, pack, prefix) => {
  test('with every option on: no finding', () => {
    const { stack } = centralStack(everyOption());
    expect(findings(stack, pack(), prefix)).toEqual([]);
  });
});

test('cdk-nag AwsSolutions on a central stack with the defaults: no finding', () => {
  const { stack } = centralStack();
  expect(findings(stack, new AwsSolutionsChecks({ verbose: true }), 'AwsSolutions-')).toEqual([]);
});

test.each(packs)('cdk-nag %s with the user\'s own topic: no finding of the construct\'s', (_name, pack, prefix) => {
  const stack = new Stack(new App(), 'Central', { env: { account: CENTRAL_ACCOUNT, region: CENTRAL_REGION } });
  const topic = new sns.Topic(stack, 'OpsTopic', { enforceSSL: true });
  new PrePostScriptBackupCentralAudit(stack, 'BackupAudit', { organizationId: ORG_ID, notificationTopic: topic });
  expect(findings(stack, pack(), prefix).filter(f => f.includes('/BackupAudit/'))).toEqual([]);
});

// Not suppressed: an alarm nobody hears is the consumer's decision. Notifications (or an action of their own) clear it.
test.each(packs.slice(1))('cdk-nag %s with the defaults (no notifications): only the alarm without an action', (_name, pack, prefix) => {
  const { stack } = centralStack();
  expect(findings(stack, pack(), prefix)).toEqual([expect.stringMatching(/^\/Central\/BackupAudit\/RunsFailedAlarm\/Resource: [A-Za-z0-9.]+-CloudWatchAlarmAction:/)]);
});

test('the harness reports a finding when there is one', () => {
  const { stack } = centralStack();
  new sns.Topic(stack, 'UnencryptedTopic');
  expect(findings(stack, new AwsSolutionsChecks({ verbose: true }), 'AwsSolutions-').join('\n')).toMatch(/AwsSolutions-SNS/);
});

test('the construct adds suppressions only inside itself, each narrow and with a reason', () => {
  const { stack } = centralStack(everyOption());
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Metadata?: Record<string, any> }>;
  const suppressed = Object.entries(resources).filter(([, r]) => r.Metadata?.cdk_nag);
  expect(suppressed.length).toBeGreaterThan(0);
  const ids: string[] = [];
  for (const [logicalId, resource] of suppressed) {
    expect(logicalId.startsWith('BackupAudit')).toBe(true);
    for (const rule of resource.Metadata!.cdk_nag.rules_to_suppress) {
      ids.push(rule.id);
      expect(rule.reason.length).toBeGreaterThan(30);
      if (rule.id === 'AwsSolutions-IAM5') {
        expect(rule.applies_to).toEqual(['Resource::*']);
      }
    }
  }
  expect([...new Set(ids)].sort()).toEqual([
    'AwsSolutions-IAM5',
    'AwsSolutions-SQS3',
    'HIPAA.Security-DynamoDBInBackupPlan',
    'HIPAA.Security-IAMNoInlinePolicy',
    'NIST.800.53.R5-DynamoDBInBackupPlan',
    'NIST.800.53.R5-IAMNoInlinePolicy',
  ]);
});
