import { App, Aspects, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { SynthesisMessage } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks } from 'cdk-nag';
import { PrePostScriptBackup } from '../../src';
import { consumerStack, everyOption, fullProps } from '../helpers/stacks';

/**
 * cdk-nag on a stack as a consumer writes it: the construct with every toggle on and a schedule, and no
 * suppression of the consumer's own. Any finding fails the test with a readable list.
 */
function findings(stack: Stack, pack: NagPack = new AwsSolutionsChecks({ verbose: true }), prefix = 'AwsSolutions-'): string[] {
  Aspects.of(stack).add(pack);
  const annotations = Annotations.fromStack(stack);
  const messages: SynthesisMessage[] = [
    ...annotations.findError('*', Match.stringLikeRegexp(prefix)),
    ...annotations.findWarning('*', Match.stringLikeRegexp(prefix)),
  ];
  return messages.map(m => `${m.id}: ${String(m.entry.data).split(']: ')[0]}]`);
}

describe('cdk-nag AwsSolutions', () => {
  test('a consumer stack with every toggle on and a schedule has no finding', () => {
    const { stack } = consumerStack(fullProps());
    expect(findings(stack)).toEqual([]);
  });

  test('a consumer stack with every option on has no finding', () => {
    const { stack } = consumerStack(everyOption());
    expect(findings(stack)).toEqual([]);
  });

  test('the harness reports a finding when there is one', () => {
    const { stack } = consumerStack({});
    new sqs.Queue(stack, 'UnencryptedQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(findings(stack).join('\n')).toMatch(/AwsSolutions-SQS/);
  });

  test('a consumer stack with the defaults has no finding', () => {
    const { stack } = consumerStack({});
    expect(findings(stack)).toEqual([]);
  });

  test('the construct adds suppressions only inside itself, each narrow and with a reason', () => {
    const { stack } = consumerStack(fullProps());
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Metadata?: Record<string, any> }>;
    const suppressed = Object.entries(resources).filter(([, r]) => r.Metadata?.cdk_nag);
    expect(suppressed.length).toBeGreaterThan(0);
    for (const [logicalId, resource] of suppressed) {
      expect(logicalId.startsWith('AppBackup')).toBe(true);
      for (const rule of resource.Metadata!.cdk_nag.rules_to_suppress) {
        expect(rule.reason.length).toBeGreaterThan(30);
        if (rule.id === 'AwsSolutions-IAM5' || rule.id === 'AwsSolutions-IAM4') {
          expect(rule.applies_to?.length).toBeGreaterThan(0);
        }
      }
    }
  });
});

describe('cdk-nag compliance packs on a consumer stack with every option on', () => {
  test('NIST 800-53 rev 5: no finding', () => {
    const { stack } = consumerStack(everyOption());
    expect(findings(stack, new NIST80053R5Checks({ verbose: true }), 'NIST.800.53.R5-')).toEqual([]);
  });

  test('HIPAA Security: no finding', () => {
    const { stack } = consumerStack(everyOption());
    expect(findings(stack, new HIPAASecurityChecks({ verbose: true }), 'HIPAA.Security-')).toEqual([]);
  });
});

describe('cdk-nag with copies to a vault in another Region', () => {
  test.each([
    ['AwsSolutions', () => new AwsSolutionsChecks({ verbose: true }), 'AwsSolutions-'],
    ['NIST 800-53 rev 5', () => new NIST80053R5Checks({ verbose: true }), 'NIST.800.53.R5-'],
    ['HIPAA Security', () => new HIPAASecurityChecks({ verbose: true }), 'HIPAA.Security-'],
  ])('%s: no finding', (_name, pack, prefix) => {
    const app = new App();
    const stack = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'eu-west-1' } });
    const dr = backup.BackupVault.fromBackupVaultArn(stack, 'Dr', 'arn:aws:backup:us-west-2:123456789012:backup-vault:dr');
    new PrePostScriptBackup(stack, 'AppBackup', everyOption({ copyToVault: dr, copyDeleteAfter: Duration.days(90) }));
    expect(findings(stack, pack(), prefix)).toEqual([]);
  });
});

describe('cdk-nag with the consumer\'s own key (encryptionKey), every option on', () => {
  test.each([
    ['AwsSolutions', () => new AwsSolutionsChecks({ verbose: true }), 'AwsSolutions-'],
    ['NIST 800-53 rev 5', () => new NIST80053R5Checks({ verbose: true }), 'NIST.800.53.R5-'],
    ['HIPAA Security', () => new HIPAASecurityChecks({ verbose: true }), 'HIPAA.Security-'],
  ])('%s: no finding', (_name, pack, prefix) => {
    const { stack } = consumerStack(s => everyOption({ encryptionKey: new kms.Key(s, 'TeamKey', { enableKeyRotation: true }) }));
    expect(findings(stack, pack(), prefix)).toEqual([]);
  });
});
