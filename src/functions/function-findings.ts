import * as lambda from 'aws-cdk-lib/aws-lambda';
import { suppress } from '../security/nag-suppressions';
import { CheckovSkip, skipCheckov } from '../security/scanner-skips';

/** Findings of the compliance packs that do not apply to the workflow's functions. */
export function suppressFunctionFindings(fn: lambda.Function, inVpc: boolean, hasDeadLetterQueue: boolean): void {
  const reasons: [string, string][] = [
    ['LambdaConcurrency', 'Concurrency is bounded by the state machine (maxConcurrency instances at a time) and, for resume-wait, by the state changes of the account; a reservation would take capacity from the account pool and could fail deployment in small accounts.'],
  ];
  if (!hasDeadLetterQueue) {
    reasons.push(['LambdaDLQ', 'Step Functions invokes the function synchronously and catches every error; a dead-letter queue only applies to asynchronous invocations.']);
  }
  if (!inVpc) {
    reasons.push(['LambdaInsideVPC', 'The function calls only AWS APIs and reaches no network resource; set the vpc prop to run it in a VPC of yours.']);
  }
  suppress(fn, reasons.flatMap(([rule, reason]) => [
    { id: `NIST.800.53.R5-${rule}`, reason },
    { id: `HIPAA.Security-${rule}`, reason },
  ]));
}

/**
 * checkov's findings on the workflow's functions that do not apply, each with its reason (README, "Explained
 * findings"). The environment and VPC skips are only added when the construct is configured without them.
 */
export function explainFunctionFindings(fn: lambda.Function, inVpc: boolean, hasDeadLetterQueue: boolean, keyed: boolean): void {
  const skips: CheckovSkip[] = [{
    id: 'CKV_AWS_115',
    comment: 'Concurrency is bounded by the state machine (maxConcurrency instances at a time) and, for resume-wait, by the '
      + 'state changes of the account; a reservation would take capacity from the account pool and can fail deployment '
      + 'in small accounts.',
  }];
  if (!hasDeadLetterQueue) {
    skips.push({
      id: 'CKV_AWS_116',
      comment: 'Step Functions invokes the function synchronously and catches every error; a dead-letter queue only applies '
        + 'to asynchronous invocations.',
    });
  }
  if (!inVpc) {
    skips.push({
      id: 'CKV_AWS_117',
      comment: 'The function calls only AWS APIs and reaches no network resource; set the vpc prop to run it in a VPC of yours.',
    });
  }
  if (!keyed) {
    skips.push({
      id: 'CKV_AWS_173',
      comment: 'The environment holds no secret (resource names and settings) and Lambda encrypts it at rest with its AWS '
        + 'managed key; set encryptionKey to encrypt it with your own KMS key.',
    });
  }
  skipCheckov(fn, skips);
}
