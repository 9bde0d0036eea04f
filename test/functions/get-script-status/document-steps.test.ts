import { ListCommandInvocationsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type ScriptStatusResult } from '../../../src/contract/messages';
import { nextPoll, scriptPolicy } from '../../../src/contract/poll';
import { handler } from '../../../src/functions/get-script-status/get-script-status.lambda';
import { listed } from '../../helpers/ssm-fixtures';

/**
 * Issue 15: a Command document's own steps (DLM's `run_pre_post_scripts`): a step skipped by its precondition never
 * counts as the script; an invocation whose every step was skipped is not a script that succeeded; a script that did
 * not succeed carries the end of its deciding step's Output (docs/fidelity/ssm.md).
 */
const ssm = mockClient(SSMClient);
const ID = 'i-0123456789abcdef0';
const first: ScriptStatusResult = {
  commandId: 'cmd-1',
  instanceId: ID,
  status: 'Pending',
  statusDetails: 'Pending',
  responseCode: -1,
  timeoutSeconds: 60,
  outputLocation: '',
  outputExcerpt: '',
  done: false,
  poll: nextPoll(null, scriptPolicy(60)),
};
const SKIPPED = 'Step execution skipped due to unsatisfied preconditions: \'"StringEquals": [platformType, Linux]\'. Step name: run_pre_post_scripts';

beforeEach(() => ssm.reset());

describe('get-script-status on a Command document', () => {
  test('every step skipped by its precondition: Failed, NoStepRan, the agent\'s message kept', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, 'Success', {
      plugins: [{ Name: 'run_pre_post_scripts', Status: 'Success', StatusDetails: 'Success', ResponseCode: 0, Output: SKIPPED }],
    }));
    const result = await handler({ previous: first });
    expect(result).toMatchObject({ status: 'Failed', statusDetails: 'NoStepRan', done: true });
    expect(result.outputExcerpt).toContain('every step was skipped');
    expect(result.outputTail).toBe(SKIPPED);
  });

  test('one step ran and succeeded, another skipped: Success, nothing kept', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, 'Success', {
      plugins: [
        { Name: 'freeze_windows', Status: 'Success', ResponseCode: 0, Output: SKIPPED.replace('Linux', 'Windows') },
        { Name: 'run_pre_post_scripts', Status: 'Success', ResponseCode: 0, Output: 'INFO: froze /data' },
      ],
    }));
    expect(await handler({ previous: first })).toMatchObject({ status: 'Success', outputExcerpt: '', done: true });
  });

  test('a failed step: the end of its Output (at most 2,000 characters), line breaks kept', async () => {
    const output = `${'x'.repeat(2400)}\n----------ERROR-------\nfsfreeze: /data: freeze failed: Device or resource busy`;
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, 'Failed', {
      plugins: [{ Name: 'run_pre_post_scripts', Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 204, Output: output }],
    }));
    const result = await handler({ previous: first });
    expect(result).toMatchObject({ status: 'Failed', responseCode: 204 });
    expect(result.outputTail).toBe(output.slice(output.length - 2000));
    expect(result.outputTail).toContain('\n----------ERROR-------\nfsfreeze');
    expect(result.outputExcerpt).toMatch(/^step run_pre_post_scripts Failed, exit code 204: /);
  });
});
