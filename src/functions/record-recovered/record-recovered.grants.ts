import * as iam from 'aws-cdk-lib/aws-iam';
import { auditEnvironment, FunctionGrants, GrantContext } from '../grants';

/** record-recovered writes a recovered instance's audit item. */
export function recordRecoveredGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: auditEnvironment(ctx),
    statements: [new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [ctx.auditTable.tableArn] })],
  };
}
