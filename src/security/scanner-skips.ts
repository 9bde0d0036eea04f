import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Explanations for the independent template scanners, written into the resource's own metadata so that they
 * travel with the construct: checkov reads `Metadata.checkov.skip` (a list of `{id, comment}`), cfn-lint reads
 * `Metadata['cfn-lint'].config.ignore_checks`. Each one names one rule on one resource; the README's "Explained
 * findings" tables list them with the same reasons.
 */

/** A checkov check skipped on one resource, with the reason users read in checkov's report. */
export interface CheckovSkip {
  readonly id: string;
  readonly comment: string;
}

function cfnResourceOf(construct: IConstruct): CfnResource {
  const resource = construct instanceof CfnResource ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) {
    throw new Error(`No CloudFormation resource under ${construct.node.path} to attach scanner explanations to.`);
  }
  return resource;
}

/** Adds checkov skips to the resource of `construct` (after any already there). */
export function skipCheckov(construct: IConstruct, skips: CheckovSkip[]): void {
  if (skips.length === 0) {
    return;
  }
  const resource = cfnResourceOf(construct);
  const existing = (resource.getMetadata('checkov')?.skip ?? []) as CheckovSkip[];
  resource.addMetadata('checkov', { skip: [...existing, ...skips.map(s => ({ id: s.id, comment: s.comment }))] });
}

/**
 * Makes cfn-lint ignore `rule` on the resource of `construct` only. cfn-lint has no field for a reason: `reason`
 * says it in the code, and the README's table says it to users.
 */
export function ignoreCfnLint(construct: IConstruct, rule: string, reason: string): void {
  if (reason.length === 0) {
    throw new Error('ignoreCfnLint: say why');
  }
  const resource = cfnResourceOf(construct);
  const existing = (resource.getMetadata('cfn-lint')?.config?.ignore_checks ?? []) as string[];
  resource.addMetadata('cfn-lint', { config: { ignore_checks: [...new Set([...existing, rule])] } });
}

/**
 * Why cfn-lint's W3005 (redundant DependsOn) is left on a state machine: aws-cdk-lib's StateMachine makes itself
 * depend on its role construct, which is the role (already a GetAtt of RoleArn) and the role's policy (not otherwise
 * referenced, and needed before the first execution). A construct cannot take back a dependency aws-cdk-lib added.
 */
export const STATE_MACHINE_DEPENDS_ON = 'aws-cdk-lib makes the state machine depend on its role and the role\'s policy; '
  + 'the role half is redundant with RoleArn, the policy half is needed.';

/** Why cfn-lint's W3005 is left on a function: the same as the state machine's, for aws-cdk-lib's Function. */
export const FUNCTION_DEPENDS_ON = 'aws-cdk-lib makes a function depend on its role and the role\'s policy; '
  + 'the role half is redundant with Role, the policy half is needed.';
