import { type ExecutionContext } from '../contract/messages';
/** What send-script and get-script-status share: the idempotency comment and the output location of a command. */

/** Most characters SSM accepts in a command's Comment. */
export const MAX_COMMENT_LENGTH = 100;

/**
 * `ppsb:<execution name>:<phase>`, at most 100 characters: marks the command of one execution, instance and phase.
 * Issue 15: a retried attempt (2-4) appends `:<attempt>`, so the lost-answer recovery finds that attempt's command only.
 */
export function commandComment(execution: ExecutionContext, phase: 'pre' | 'post', attempt = 1): string {
  const suffix = attempt > 1 ? `:${phase}:${attempt}` : `:${phase}`;
  // The execution name is cut, never the phase or attempt (an execution name is at most 80 characters).
  return `ppsb:${execution.name}`.slice(0, MAX_COMMENT_LENGTH - suffix.length) + suffix;
}

/** `<prefix>/<execution name>/<phase>` without double or leading slashes. */
export function outputKeyPrefix(prefix: string, execution: ExecutionContext, phase: 'pre' | 'post'): string {
  return [prefix, execution.name, phase]
    .flatMap((part) => part.split('/'))
    .filter((part) => part.length > 0)
    .join('/');
}

/** The last `max` characters of a text, marked when cut. */
export function tail(text: string | undefined, max = 500): string {
  const t = (text ?? '').trimEnd();
  if (t.length <= max) {
    return t;
  }
  return `...${t.slice(t.length - (max - 3))}`;
}

/**
 * A ListCommandInvocations `InvokedAfter` filter value in the form of the API reference's example
 * (`2024-07-07T00:00:00Z`): whole seconds, UTC, rounded down so that nothing sent at `time` is left out.
 */
export function invokedAfterValue(time: string | Date): string {
  const ms = typeof time === 'string' ? Date.parse(time) : time.getTime();
  if (Number.isNaN(ms)) {
    throw new Error(`not a time: ${String(time)}`);
  }
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
