/**
 * Orchestration cost at list prices (us-east-1, November 2026): what Step Functions, Lambda and DynamoDB charge for
 * the calls one run makes. EventBridge delivers AWS services' state-change events on the default bus free of charge.
 */

/** Step Functions Standard: per state transition (retries included). */
export const PRICE_PER_TRANSITION = 0.025 / 1000;
/** Lambda: per request. */
export const PRICE_PER_LAMBDA_REQUEST = 0.20 / 1_000_000;
/** Lambda (x86): per GB-second. */
export const PRICE_PER_GB_SECOND = 0.0000166667;
/** DynamoDB on demand: per write and per read request unit. */
export const PRICE_PER_WRITE = 1.25 / 1_000_000;
export const PRICE_PER_READ = 0.25 / 1_000_000;

/** The workflow's functions' memory (src/functions/workflow-functions.ts). */
export const FUNCTION_MEMORY_GB = 0.25;
/** Assumed billed duration of one invocation: one or two AWS API round trips. */
export const ASSUMED_INVOCATION_SECONDS = 0.2;

export interface RunCounts {
  readonly transitions: number;
  readonly lambdaInvocations: number;
  readonly dynamoWrites: number;
  readonly dynamoReads: number;
}

/** Dollars of one run. */
export function runCost(c: RunCounts): number {
  return c.transitions * PRICE_PER_TRANSITION
    + c.lambdaInvocations * (PRICE_PER_LAMBDA_REQUEST + ASSUMED_INVOCATION_SECONDS * FUNCTION_MEMORY_GB * PRICE_PER_GB_SECOND)
    + c.dynamoWrites * PRICE_PER_WRITE
    + c.dynamoReads * PRICE_PER_READ;
}

const WRITES = /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)$/;
const READS = /^dynamodb:(GetItem|Query|BatchGetItem|Scan)$/;

/** DynamoDB request counts from the simulator's API call counts (one unit per request: items are small). */
export function dynamoCounts(apiCalls: Record<string, number>): { writes: number; reads: number } {
  let writes = 0;
  let reads = 0;
  for (const [call, n] of Object.entries(apiCalls)) {
    if (WRITES.test(call)) writes += n;
    else if (READS.test(call)) reads += n;
  }
  return { writes, reads };
}
