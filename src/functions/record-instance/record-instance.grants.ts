import * as iam from 'aws-cdk-lib/aws-iam';
import { auditEnvironment, FunctionGrants, GrantContext } from '../grants';

/** record-instance writes an instance's audit item. */
export function recordInstanceGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: auditEnvironment(ctx),
    statements: [new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [ctx.auditTable.tableArn] })],
  };
}
