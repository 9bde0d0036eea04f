import { FunctionGrants, unscoped } from '../grants';

/** describe-copy-job (polled waits only): a describe call, no resource-level permissions. */
export function describeCopyJobGrants(): FunctionGrants {
  return { environment: {}, statements: [unscoped(['backup:DescribeCopyJob'])] };
}
