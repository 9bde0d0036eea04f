import * as iam from 'aws-cdk-lib/aws-iam';
import { PAGE_MANIFEST_KEY_PREFIX } from '../../contract/audit-schema';
import { auditEnvironment, FunctionGrants, GrantContext, itemsUnder } from '../grants';

/**
 * record-run writes the run's record from its instances' items (the run index) and its pages' results (their
 * manifests, BatchGetItem), and its metrics.
 */
export function recordRunGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: { ...auditEnvironment(ctx), EMIT_METRICS: 'true' },
    statements: [
      new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [ctx.auditTable.tableArn] }),
      itemsUnder(ctx, PAGE_MANIFEST_KEY_PREFIX, 'ReadPageResults', ['dynamodb:BatchGetItem']),
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${ctx.auditTable.tableArn}/index/${ctx.auditRunIndexName}`],
      }),
    ],
  };
}
