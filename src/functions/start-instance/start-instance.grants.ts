import { acting, FunctionGrants, GrantContext, onTaggedInstances, unscoped } from '../grants';

/** start-instance starts a tagged instance, journaled (the chain's start and the recovery's). */
export function startInstanceGrants(ctx: GrantContext): FunctionGrants {
  return acting(ctx, [
    unscoped(['ec2:DescribeInstances']),
    onTaggedInstances(ctx, 'StartTaggedInstancesOnly', ['ec2:StartInstances']),
  ]);
}
