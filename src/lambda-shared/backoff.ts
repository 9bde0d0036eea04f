/**
 * Short waits inside a handler between attempts of the same call (DynamoDB's unprocessed batch items, an eventually
 * consistent index, a describe call behind its event). Longer waits are the workflow's: Retry and waiting Tasks.
 */

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits before the `retry`-th retry (1, 2, 3...): `baseMs`, then twice as long each time. */
export function backoff(baseMs: number, retry: number): Promise<void> {
  return sleep(baseMs * 2 ** (retry - 1));
}
