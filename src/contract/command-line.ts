/**
 * Placeholders in a script's command line that the workflow fills in per run (send-script, before SendCommand), and
 * what a post-script may report back on its output. Pure: shared by the construct (the ready-made scripts write the
 * placeholder, src/scripts/ready-made.ts) and the handlers (send-script substitutes it, get-script-status reads the
 * report). docs/workflow.md, "The safety thaw".
 */

/**
 * Replaced, everywhere in a command line, by the run's execution name (made safe for a shell: every character outside
 * `A-Za-z0-9_.-` becomes `-`). The pre- and post-script of one run on one instance get the same value, so the
 * ready-made freeze names its state and its safety timer after the run. `%` is not special to sh, bash or PowerShell,
 * and the placeholder has no `{{ }}` (SSM resolves `{{ssm:...}}` references in parameter values).
 */
export const EXECUTION_NAME_PLACEHOLDER = '%EXECUTION_NAME%';

/** Step Functions execution names may hold characters a shell reads (`(`, `'`, `!`...): only these are kept. */
const UNSAFE_NAME_CHARACTERS = /[^A-Za-z0-9_.-]/g;

/** The execution name as it is put in a command line. */
export function shellSafeExecutionName(executionName: string): string {
  const safe = executionName.replace(UNSAFE_NAME_CHARACTERS, '-');
  return safe.length > 0 ? safe : 'run';
}

/** The command line SendCommand carries for a run: every placeholder filled in. */
export function commandLineForRun(commandLine: string, executionName: string): string {
  return commandLine.split(EXECUTION_NAME_PLACEHOLDER).join(shellSafeExecutionName(executionName));
}

/**
 * The line a post-script prints on its standard output to say whether an on-instance safety thaw had fired before it
 * (the ready-made `fsfreeze-post.sh` prints it; any post-script may): `safety_thaw_fired=true` or `=false`.
 */
export const SAFETY_THAW_FIRED_KEY = 'safety_thaw_fired';
