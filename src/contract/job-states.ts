/**
 * AWS Backup job states. No SDK import: the construct (the state-change rules) uses these too, and the published
 * library must not load the AWS SDK, which only the Lambda runtime provides.
 */

/** Final states of a backup job. */
export const BACKUP_JOB_FINAL_STATES: readonly string[] = ['ABORTED', 'COMPLETED', 'FAILED', 'EXPIRED', 'PARTIAL'];
/** States of a backup job still on its way. */
export const BACKUP_JOB_OPEN_STATES: readonly string[] = ['CREATED', 'PENDING', 'RUNNING', 'ABORTING'];

/** Final states of a copy job. */
export const COPY_JOB_FINAL_STATES: readonly string[] = ['COMPLETED', 'FAILED', 'PARTIAL'];
/** States of a copy job still on its way. */
export const COPY_JOB_OPEN_STATES: readonly string[] = ['CREATED', 'RUNNING'];
