/**
 * Where an acting handler journals what it is about to do to an instance (src/lambda-shared/journal.ts): the audit table
 * (AUDIT_TABLE_NAME, which every acting handler has) and the run's execution.
 */
import { auditEnvironment } from './audit-item';
import { ConfigurationError } from './errors';
import type { JournalTarget } from './journal';
import { type ExecutionContext } from '../contract/messages';

/** The journal item of this run and instance; the run's execution is required (an action must be journaled). */
export function journalTarget(execution: ExecutionContext | undefined, instanceId: string): JournalTarget {
  if (!execution?.id) {
    throw new ConfigurationError(`acting on ${instanceId} needs the run's execution in the event (the action is journaled first)`);
  }
  return { tableName: auditEnvironment(false).tableName, executionId: execution.id, instanceId };
}
