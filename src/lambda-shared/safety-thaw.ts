/**
 * Issue 15: whether an on-instance safety thaw fired before the post-script, as the post-script reports it on its
 * standard output (`safety_thaw_fired=true|false`, src/contract/command-line.ts; the ready-made fsfreeze-post.sh prints
 * it). Read from the invocation's script step, as ListCommandInvocations (Details) returns it.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import type { CommandInvocation } from '@aws-sdk/client-ssm';
import { SAFETY_THAW_FIRED_KEY } from '../contract/command-line';

/** What the SSM agent puts between a step's stdout and its stderr in CommandPlugin.Output. */
const STDERR_SEPARATOR = '----------ERROR-------';
const REPORT_LINE = new RegExp(`^${SAFETY_THAW_FIRED_KEY}=(true|false)\\s*$`);
/** The agent's output of a step skipped because its precondition (the platform) does not hold. */
const SKIPPED_STEP_OUTPUT = /^Step execution skipped/;

/**
 * The report in a step's output: the last `safety_thaw_fired=true|false` line of its stdout (stderr is not read), or
 * undefined when there is none.
 */
export function safetyThawFiredIn(output: string | undefined): boolean | undefined {
  const stdout = (output ?? '').split(STDERR_SEPARATOR)[0];
  let found: boolean | undefined;
  for (const line of stdout.split(/\r?\n/)) {
    const m = REPORT_LINE.exec(line.trim());
    if (m) {
      found = m[1] === 'true';
    }
  }
  return found;
}

/**
 * The report of an invocation's script steps (those that ran: not skipped by their platform precondition), as a
 * partial ScriptStatusResult: `{ safetyThawFired }` when a step reported, `{}` otherwise.
 */
export function safetyThawReport(invocation: CommandInvocation | undefined): { safetyThawFired?: boolean } {
  let fired: boolean | undefined;
  for (const step of invocation?.CommandPlugins ?? []) {
    if (SKIPPED_STEP_OUTPUT.test(step.Output ?? '')) {
      continue;
    }
    fired = safetyThawFiredIn(step.Output) ?? fired;
  }
  return fired === undefined ? {} : { safetyThawFired: fired };
}
