import { FunctionGrants, GrantContext, leaseItemsOnly } from '../grants';

/** acquire-lease takes or reads an instance's lease item (LEASE#<instance id>) only. */
export function acquireLeaseGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: { AUDIT_TABLE_NAME: ctx.auditTable.tableName },
    statements: [leaseItemsOnly(ctx, 'TakeOrReadInstanceLeasesOnly', ['dynamodb:PutItem', 'dynamodb:GetItem'])],
  };
}
