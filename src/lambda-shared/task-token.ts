/** Answering a waiting Task: SendTaskSuccess with the step's result, tolerant of a token that is no longer valid. */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { errorCode, rethrowClassified } from './errors';
import type { Logger } from './log';

/** Errors that mean the task is no longer waiting for this token (timed out, answered, or its execution ended). */
export const STALE_TOKEN_ERRORS: readonly string[] = ['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'];

/**
 * Resumes the waiting Task with `output` as its result. Returns false when the token is stale (the Task timed out
 * and its retry registered a new one, or someone else answered first): nothing is waiting for it any more.
 */
export async function completeTask(sfn: SFNClient, taskToken: string, output: unknown, log: Logger): Promise<boolean> {
  try {
    await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    return true;
  } catch (err) {
    const code = errorCode(err);
    if (STALE_TOKEN_ERRORS.includes(code)) {
      log.info('the task no longer waits for this token', { code });
      return false;
    }
    rethrowClassified(err, 'SendTaskSuccess');
  }
}
