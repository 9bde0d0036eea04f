import { FunctionGrants, unscoped } from '../grants';

/** discover-instances describes the tagged instances and their SSM agents: describe calls, no resource-level permissions. */
export function discoverInstancesGrants(): FunctionGrants {
  return { environment: {}, statements: [unscoped(['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'])] };
}
