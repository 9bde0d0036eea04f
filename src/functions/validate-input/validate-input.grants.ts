import { FunctionGrants, GrantContext } from '../grants';

/** validate-input checks the execution input against the construct's settings; it calls no AWS API. */
export function validateInputGrants(ctx: GrantContext): FunctionGrants {
  return { environment: { SETTINGS: ctx.stack.toJsonString(ctx.settings) }, statements: [] };
}
