import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { boundedPoll } from './bounded-poll';
import { WorkflowFunctions } from './functions';
import { lambdaStep } from './lambda-step';
import { auditEntryStep, NOT_RECORDED_OUTCOME } from './steps';

/** Where the pre-flight result is kept in the chain's state (the audit entry reads it from the steps). */
const PREFLIGHT_PATH = '$.steps.preflight';

/**
 * Issue 15, a dry run (execution input `DryRun: true`; docs/workflow.md "A dry run"): one instance's pre-flight check,
 * start to end: check → (wait → look at the script probes, bounded) → audit entry.
 *
 * What it never does: take the instance's lease, journal an action, register a waiting task, run a script, stop, start
 * or back up. The preflight-instance function only reads, asks EC2 with `DryRun: true`, and sends the script probe (a
 * download and a file test). A real run that starts meanwhile is therefore never held back by a dry run.
 *
 * Its input is the instance chain's (INSTANCE_ITEM_SELECTOR), so the fleet level runs it as the item processor of a Map
 * over the same pages; its output is the same small InstanceOutcome.
 */
export function dryRunChain(scope: Construct, functions: WorkflowFunctions): sfn.IChainable {
  const preflight = functions.preflightInstance;
  // The entry could not be written: the raw results go back in the outcome, and record-page writes the entry.
  const unrecorded = new sfn.Pass(scope, 'Dry run: audit entry not written', {
    parameters: { ...NOT_RECORDED_OUTCOME, 'instance.$': '$.instance', 'steps.$': '$.steps' },
  });
  const record = auditEntryStep(scope, 'Dry run: write audit entry', functions.recordInstance, {}, { next: unrecorded, errorPath: '$.recordError' });

  // A check that failed (after its retries) makes the instance not ready, with the error in the entry.
  const onError = { next: record, errorPath: '$.steps.errors.preflight' };
  const payload = {
    'execution.$': '$.execution',
    'instance.$': '$.instance',
    'config.$': '$.config',
  };
  const check = lambdaStep(scope, 'Dry run: check instance', {
    fn: preflight,
    payload: { ...payload, action: 'check' },
    resultPath: PREFLIGHT_PATH,
    onError,
  });
  const look = lambdaStep(scope, 'Dry run: look at script probes', {
    fn: preflight,
    payload: { ...payload, 'action': 'look', 'previous.$': PREFLIGHT_PATH },
    resultPath: PREFLIGHT_PATH,
    onError,
  });
  return boundedPoll(scope, 'Dry run: script probes', { first: check, check: look, resultPath: PREFLIGHT_PATH, whenDone: record });
}
