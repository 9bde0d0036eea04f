import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { consumerStack, everyOption } from '../helpers/stacks';

/**
 * The explanations the construct writes for checkov (`Metadata.checkov.skip`) and cfn-lint
 * (`Metadata['cfn-lint'].config.ignore_checks`): narrow (one rule, one resource of the construct), with a reason, and
 * those that only apply without `encryptionKey` or `vpc` only then. test/scanners/run.sh runs the scanners themselves.
 */

type Resources = Record<string, { Type: string; Metadata?: Record<string, any> }>;
const resourcesOf = (stack: any) => Template.fromStack(stack).toJSON().Resources as Resources;

/** `<resource type> <rule>` for every checkov skip in the template. */
function checkovSkips(resources: Resources): string[] {
  return Object.values(resources).flatMap(r => (r.Metadata?.checkov?.skip ?? []).map((s: any) => `${r.Type} ${s.id}`));
}

const count = (list: string[]) => list.reduce<Record<string, number>>((all, x) => ({ ...all, [x]: (all[x] ?? 0) + 1 }), {});

describe('checkov and cfn-lint explanations', () => {
  test('with the key and a VPC: only concurrency and (synchronously invoked) dead-letter queue skips remain', () => {
    const { stack } = consumerStack(s => everyOption({
      encryptionKey: new kms.Key(s, 'TeamKey', { enableKeyRotation: true }),
      vpc: ec2.Vpc.fromVpcAttributes(s, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-1'] }),
    }));
    const resources = resourcesOf(stack);
    const functions = Object.values(resources).filter(r => r.Type === 'AWS::Lambda::Function').length;
    expect(count(checkovSkips(resources))).toEqual({
      'AWS::Lambda::Function CKV_AWS_115': functions,
      // resume-wait is invoked asynchronously and has the dead-letter queue.
      'AWS::Lambda::Function CKV_AWS_116': functions - 1,
    });
  });

  test('without them: the AWS managed keys and no VPC are explained too', () => {
    const { stack } = consumerStack(everyOption());
    const resources = resourcesOf(stack);
    const functions = Object.values(resources).filter(r => r.Type === 'AWS::Lambda::Function').length;
    expect(count(checkovSkips(resources))).toEqual({
      'AWS::Lambda::Function CKV_AWS_115': functions,
      'AWS::Lambda::Function CKV_AWS_116': functions - 1,
      'AWS::Lambda::Function CKV_AWS_117': functions,
      'AWS::Lambda::Function CKV_AWS_173': functions,
      'AWS::DynamoDB::Table CKV_AWS_119': 1,
      'AWS::SQS::Queue CKV_AWS_27': 1,
    });
  });

  test('each explanation is on a resource of the construct, names one rule and says why', () => {
    const resources = resourcesOf(consumerStack(everyOption()).stack);
    const explained = Object.entries(resources).filter(([, r]) => r.Metadata?.checkov || r.Metadata?.['cfn-lint']);
    expect(explained.length).toBeGreaterThan(0);
    for (const [id, r] of explained) {
      expect(id.startsWith('AppBackup')).toBe(true);
      const skips = r.Metadata?.checkov?.skip ?? [];
      expect(new Set(skips.map((s: any) => s.id)).size).toBe(skips.length);
      for (const skip of skips) {
        expect(Object.keys(skip).sort()).toEqual(['comment', 'id']);
        expect(skip.id).toMatch(/^CKV2?_AWS_\d+$/);
        expect(skip.comment.length).toBeGreaterThan(60);
      }
      const ignored = r.Metadata?.['cfn-lint']?.config?.ignore_checks;
      if (ignored) {
        // W3005 only, where aws-cdk-lib itself adds the dependency on the role.
        expect({ id, type: r.Type, ignored }).toEqual({ id, type: expect.stringMatching(/^AWS::(Lambda::Function|StepFunctions::StateMachine)$/), ignored: ['W3005'] });
      }
    }
  });
});
