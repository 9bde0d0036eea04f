import { FunctionGrants, GrantContext, leaseItemsOnly } from '../grants';

/** release-lease deletes an instance's lease item (LEASE#<instance id>) only. */
export function releaseLeaseGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: { AUDIT_TABLE_NAME: ctx.auditTable.tableName },
    statements: [leaseItemsOnly(ctx, 'ReleaseInstanceLeasesOnly', ['dynamodb:DeleteItem'])],
  };
}
