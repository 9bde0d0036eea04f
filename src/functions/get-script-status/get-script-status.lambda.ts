import { SSMClient } from '@aws-sdk/client-ssm';
import { type GetScriptStatusEvent, type ScriptStatusResult } from '../../contract/messages';
import { nextPoll, scriptPolicy } from '../../contract/poll';
import { correlationOf, createLogger } from '../../lambda-shared/log';
import { checkScript } from '../../lambda-shared/script-status';

const ssm = new SSMClient({});
const log = createLogger('get-script-status');

/** Polls a script invocation; when the bounded wait is over without a final status, cancels the command. */
export const handler = async (event: GetScriptStatusEvent): Promise<ScriptStatusResult> => {
  log.correlate(correlationOf(event));
  const previous = event.previous;
  return checkScript(ssm, previous, nextPoll(previous.poll, scriptPolicy(previous.timeoutSeconds)), log);
};
