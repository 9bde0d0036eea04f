import { acting, FunctionGrants, GrantContext, onTaggedInstances, unscoped } from '../grants';

/** stop-instance stops a tagged instance, journaled. */
export function stopInstanceGrants(ctx: GrantContext): FunctionGrants {
  return acting(ctx, [
    unscoped(['ec2:DescribeInstances']),
    onTaggedInstances(ctx, 'StopTaggedInstancesOnly', ['ec2:StopInstances']),
  ]);
}
