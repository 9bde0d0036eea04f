import { SSMClient } from '@aws-sdk/client-ssm';
import type { GetScriptStatusEvent, ScriptStatusResult } from '../../runtime/contracts';
import { createLogger } from '../../runtime/log';
import { nextPoll, scriptPolicy } from '../../runtime/poll';
import { checkScript } from '../../runtime/script-status';

const ssm = new SSMClient({});
const log = createLogger('get-script-status');

/** Polls a script invocation; when the bounded wait is over without a final status, cancels the command. */
export const handler = async (event: GetScriptStatusEvent): Promise<ScriptStatusResult> => {
  const previous = event.previous;
  return checkScript(ssm, previous, nextPoll(previous.poll, scriptPolicy(previous.timeoutSeconds)), log);
};
