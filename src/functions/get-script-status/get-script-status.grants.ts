import { FunctionGrants, unscoped } from '../grants';

/** get-script-status (polled waits only) looks at an invocation and cancels it at the bound. */
export function getScriptStatusGrants(): FunctionGrants {
  // Neither action supports resource-level permissions; a command id is only known to its sender.
  return { environment: {}, statements: [unscoped(['ssm:ListCommandInvocations', 'ssm:CancelCommand'])] };
}
