import * as iam from 'aws-cdk-lib/aws-iam';
import { PAGE_MANIFEST_KEY_PREFIX } from '../../contract/audit-schema';
import { auditEnvironment, FunctionGrants, GrantContext, itemsUnder } from '../grants';

/** find-unfinished reads (and expires) a page's manifest and whether each instance of the page has its item. */
export function findUnfinishedGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: auditEnvironment(ctx),
    statements: [
      itemsUnder(ctx, PAGE_MANIFEST_KEY_PREFIX, 'ReadAndExpirePageManifestsOnly', ['dynamodb:GetItem', 'dynamodb:UpdateItem']),
      // Whether each instance of the page has its item (keys: the execution ARN and the instance id), as record-page reads them.
      new iam.PolicyStatement({ sid: 'ReadInstanceItems', actions: ['dynamodb:BatchGetItem'], resources: [ctx.auditTable.tableArn] }),
    ],
  };
}
