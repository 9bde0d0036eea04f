import * as iam from 'aws-cdk-lib/aws-iam';
import { auditEnvironment, FunctionGrants, GrantContext } from '../grants';

/** record-run writes the run's record from its instances' items (the run index), and its metrics. */
export function recordRunGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: { ...auditEnvironment(ctx), EMIT_METRICS: 'true' },
    statements: [
      new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [ctx.auditTable.tableArn] }),
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${ctx.auditTable.tableArn}/index/${ctx.auditRunIndexName}`],
      }),
    ],
  };
}
