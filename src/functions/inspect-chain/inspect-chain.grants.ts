import { JOURNAL_KEY_PREFIX } from '../../contract/audit-schema';
import { describeEverything, FunctionGrants, GrantContext, itemsUnder } from '../grants';

/** inspect-chain reads the run's journal of an instance and looks at the resources it names. */
export function inspectChainGrants(ctx: GrantContext): FunctionGrants {
  return {
    environment: { AUDIT_TABLE_NAME: ctx.auditTable.tableName },
    statements: [
      itemsUnder(ctx, JOURNAL_KEY_PREFIX, 'ReadTheRunsJournalOnly', ['dynamodb:GetItem']),
      // Describe / get calls: these actions support no resource-level permissions (a command or job id is the scope).
      describeEverything(ctx),
    ],
  };
}
