import { FunctionGrants, unscoped } from '../grants';

/** check-agent describes an instance's SSM agent: a describe call, no resource-level permissions. */
export function checkAgentGrants(): FunctionGrants {
  return { environment: {}, statements: [unscoped(['ssm:DescribeInstanceInformation'])] };
}
