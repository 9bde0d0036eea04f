import * as iam from 'aws-cdk-lib/aws-iam';
import { auditEnvironment, FunctionGrants, GrantContext } from '../grants';

/** record-page writes the entries a chain could not write itself and reads the others back (consistent reads). */
export function recordPageGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: auditEnvironment(ctx),
    statements: [new iam.PolicyStatement({
      actions: ['dynamodb:BatchWriteItem', 'dynamodb:BatchGetItem'],
      resources: [ctx.auditTable.tableArn],
    })],
  };
}
