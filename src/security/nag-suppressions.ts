import { CfnResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * cdk-nag suppressions, written as the `cdk_nag` metadata cdk-nag reads, so the library does not depend
 * on cdk-nag. Each one is narrow (one rule, the exact resources it applies to) and says why.
 */

interface Suppression {
  readonly id: string;
  readonly reason: string;
  readonly appliesTo?: (string | { regex: string })[];
}

/**
 * The nag form of `arn:<partition>:ec2:<region>:<account>:instance/*`, whether the stack's account and Region
 * are tokens or literals.
 */
export const NAG_TAGGED_INSTANCES = { regex: '/^Resource::arn:<AWS::Partition>:ec2:[^:]+:[^:]+:instance\\/\\*$/' };

export function suppress(construct: IConstruct, suppressions: Suppression[]): void {
  const resource = construct instanceof CfnResource ? construct : construct.node.defaultChild as CfnResource | undefined;
  if (!resource) {
    throw new Error(`No CloudFormation resource under ${construct.node.path} to attach cdk-nag suppressions to.`);
  }
  const existing = (resource.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as unknown[];
  resource.addMetadata('cdk_nag', {
    rules_to_suppress: [
      ...existing,
      ...suppressions.map(s => ({ id: s.id, reason: s.reason, ...(s.appliesTo ? { applies_to: s.appliesTo } : {}) })),
    ],
  });
}

/**
 * Suppresses AwsSolutions-IAM5 on a handler role's policy for exactly the wildcards its statements use:
 * `*` for actions IAM only accepts on `*`, and `instance/*` for actions conditioned on the backup tag.
 */
export function addNagSuppressions(role: iam.Role, statements: iam.PolicyStatement[]): void {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!policy) {
    return;
  }
  const unscoped = statements.filter(s => s.resources.includes('*')).flatMap(s => s.actions);
  const tagged = statements.filter(s => s.resources.some(r => r.endsWith(':instance/*'))).flatMap(s => s.actions);
  const recoveryPoints = statements.filter(s => s.resources.some(r => r.endsWith(':image/*') || r.endsWith(':recovery-point:*')))
    .flatMap(s => s.actions);
  const appliesTo: (string | { regex: string })[] = [];
  const reasons: string[] = [];
  if (unscoped.length > 0) {
    appliesTo.push('Resource::*');
    reasons.push(`${unique(unscoped).join(', ')} do not support resource-level permissions`);
  }
  if (tagged.length > 0) {
    appliesTo.push(NAG_TAGGED_INSTANCES);
    reasons.push(`${unique(tagged).join(', ')} apply only to instances carrying the backup tag (aws:ResourceTag condition)`);
  }
  if (recoveryPoints.length > 0) {
    appliesTo.push(
      { regex: '/^Resource::arn:<AWS::Partition>:ec2:[^:]+::image\\/\\*$/' },
      { regex: '/^Resource::arn:<AWS::Partition>:backup:[^:]+:[^:]+:recovery-point:\\*$/' },
    );
    reasons.push(`${unique(recoveryPoints).join(', ')} apply to the recovery points of this account and Region, whose ids each backup job creates`);
  }
  if (appliesTo.length === 0) {
    return;
  }
  suppress(policy, [{ id: 'AwsSolutions-IAM5', reason: `${reasons.join('; ')}.`, appliesTo }]);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * Every IAM policy of a construct belongs to one role with one job: inline keeps it from being attached elsewhere
 * and deletes it with its role. The compliance packs prefer managed policies for reuse. Call it last, once every
 * policy of the construct exists.
 */
export function suppressInlinePolicyFindings(scope: IConstruct): void {
  for (const policy of scope.node.findAll().filter((c): c is iam.Policy => c instanceof iam.Policy)) {
    suppress(policy, ['NIST.800.53.R5', 'HIPAA.Security'].map(pack => ({
      id: `${pack}-IAMNoInlinePolicy`,
      reason: 'A policy of a single-purpose role of this construct, scoped to that role\'s job; it is not meant to be shared.',
    })));
  }
}
