/**
 * SSM answers as ListCommandInvocations (with Details) gives them for AWS-RunRemoteScript on a Linux instance: the
 * download step, the PowerShell step skipped by its platform precondition, the shell step (docs/fidelity/ssm.md).
 */
import type { CommandInvocation, CommandPlugin, ListCommandInvocationsCommandOutput } from '@aws-sdk/client-ssm';

export const SKIPPED_POWERSHELL: CommandPlugin = {
  Name: 'runPowerShellScript',
  Status: 'Success',
  StatusDetails: 'Success',
  ResponseCode: 0,
  Output: 'Step execution skipped due to unsatisfied preconditions: \'"StringEquals": [platformType, Windows]\'. Step name: runPowerShellScript',
};

export interface StepsOptions {
  readonly responseCode?: number;
  /** The shell step's Output. */
  readonly output?: string;
  /** The download step fails with this Output (the shell step then fails too). */
  readonly downloadError?: string;
}

/** The three steps of AWS-RunRemoteScript on Linux, the shell step ending with `status`. */
export function remoteScriptSteps(status: string, options: StepsOptions = {}): CommandPlugin[] {
  const started = status !== 'Pending';
  const download: CommandPlugin = options.downloadError !== undefined
    ? { Name: 'downloadContent', Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 1, Output: options.downloadError }
    : { Name: 'downloadContent', Status: started ? 'Success' : 'Pending', StatusDetails: started ? 'Success' : 'Pending', ResponseCode: started ? 0 : -1, Output: '' };
  const shell: CommandPlugin = {
    Name: 'runShellScript',
    Status: status as CommandPlugin['Status'],
    StatusDetails: status,
    ResponseCode: options.responseCode ?? (status === 'Success' ? 0 : -1),
    Output: options.output ?? '',
  };
  return [download, started ? SKIPPED_POWERSHELL : { ...SKIPPED_POWERSHELL, Status: 'Pending', ResponseCode: -1, Output: '' }, shell];
}

/** A ListCommandInvocations answer listing one invocation (Status = StatusDetails = `status` unless given). */
export function listed(
  commandId: string, instanceId: string, status: string, options: StepsOptions & { statusDetails?: string; plugins?: CommandPlugin[] } = {},
): ListCommandInvocationsCommandOutput {
  const invocation: CommandInvocation = {
    CommandId: commandId,
    InstanceId: instanceId,
    DocumentName: 'AWS-RunRemoteScript',
    Status: status as CommandInvocation['Status'],
    StatusDetails: options.statusDetails ?? status,
    CommandPlugins: options.plugins ?? remoteScriptSteps(status, options),
  };
  return { CommandInvocations: [invocation], $metadata: {} };
}

/**
 * The instance journal's items in memory, behind a mocked DocumentClient's UpdateItem: begin (SET if_not_exists,
 * ALL_OLD), record (conditional on the intent and no other id), abandon (REMOVE, conditional), as journal.ts writes them.
 */
export class FakeJournal {
  public readonly items = new Map<string, Record<string, any>>();

  update(input: any): any {
    const key = input.Key.SM_Execution_ID as string;
    const item = this.items.get(key) ?? {};
    const names = input.ExpressionAttributeNames as Record<string, string>;
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, any>;
    const expr = String(input.UpdateExpression);
    if (expr.includes('if_not_exists(#intent')) {
      const old = { ...item };
      const next = { ...item, [names['#type']]: values[':type'], ExecutionId: values[':exec'], InstanceId: values[':instance'] };
      if (next[names['#intent']] === undefined) next[names['#intent']] = values[':now'];
      this.items.set(key, next);
      return { Attributes: old };
    }
    const fail = () => Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException', $metadata: { httpStatusCode: 400 } });
    if (expr.startsWith('SET #resource')) {
      const existing = item[names['#resource']];
      if (item[names['#intent']] === undefined || (existing !== undefined && existing !== values[':id'])) throw fail();
      this.items.set(key, { ...item, [names['#resource']]: values[':id'] });
      return {};
    }
    if (expr.startsWith('REMOVE #intent')) {
      if (item[names['#intent']] !== values[':at'] || item[names['#resource']] !== undefined) throw fail();
      const next = { ...item };
      delete next[names['#intent']];
      this.items.set(key, next);
      return {};
    }
    throw new Error(`FakeJournal: unexpected UpdateItem ${expr}`);
  }
}
