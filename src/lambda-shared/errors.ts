/**
 * The error names the workflow's Retry and Catch rely on. Lambda reports `error.name` as the error type, so every
 * class sets `this.name` explicitly (bundling may rename classes).
 */

/** A temporary failure (throttling, a 5xx, the network): the workflow retries it with backoff. */
export class TransientError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TransientError';
  }
}

/** The execution input is malformed or disallowed. Thrown by validate-input and discover-instances only. */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

/** The handler's own configuration (its environment) is wrong: a deployment problem, never retried. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** A permanent AWS error; `name` is the AWS error code (IncorrectInstanceState, InvalidInstanceID.NotFound, ...). */
export class AwsPermanentError extends Error {
  public readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }
}

/** Error names the workflow retries. */
export const RETRYABLE_ERROR_NAMES: readonly string[] = ['TransientError'];

/** AWS error codes that mean "slow down" or "try again later", across EC2, SSM, Backup and DynamoDB. */
export const THROTTLING_ERROR_CODES: readonly string[] = [
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'LimitExceededException',
  'SlowDown',
  'EC2ThrottledException',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
];

/** AWS error codes of a failure on the service's side. */
export const SERVER_ERROR_CODES: readonly string[] = [
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'InternalServerErrorException',
  'InternalServiceError',
  'InternalServiceErrorException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'RequestExpired',
  'IDPCommunicationError',
];

/** Error names or codes of network failures (Node's and the SDK's). */
export const NETWORK_ERROR_CODES: readonly string[] = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
  'NetworkingError',
  'AbortError',
];

interface AwsLikeError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $retryable?: { throttling?: boolean } | undefined;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

/** The AWS error code of an SDK error (its name), or the Node error code. */
export function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as AwsLikeError;
    const code = e.name && e.name !== 'Error' ? e.name : e.Code ?? e.code;
    if (code) {
      return String(code);
    }
  }
  return 'Error';
}

/** DynamoDB refused a conditional write because its condition did not hold (not a failure of the call). */
export function isConditionFailed(err: unknown): boolean {
  return errorCode(err) === 'ConditionalCheckFailedException';
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    return err.message;
  }
  if (err && typeof err === 'object' && typeof (err as AwsLikeError).message === 'string') {
    return (err as AwsLikeError).message as string;
  }
  return String(err);
}

/** Whether an error is temporary: the SDK marked it retryable, a 5xx, a throttling code, a network error. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) {
    return true;
  }
  if (!err || typeof err !== 'object') {
    return false;
  }
  const e = err as AwsLikeError;
  const codes = [e.name, e.code, e.Code].filter((c): c is string => typeof c === 'string');
  if (codes.some((c) => THROTTLING_ERROR_CODES.includes(c) || SERVER_ERROR_CODES.includes(c) || NETWORK_ERROR_CODES.includes(c))) {
    return true;
  }
  if (e.$retryable) {
    return true;
  }
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) {
    return true;
  }
  return false;
}

/**
 * Turns an error from an AWS call into the error the handler throws: `TransientError` for a temporary failure,
 * otherwise a permanent error named after the AWS error code. `what` says what failed ("StopInstances i-0abc").
 * Errors this module defines pass through unchanged.
 */
export function classifyAwsError(err: unknown, what?: string): Error {
  if (err instanceof TransientError || err instanceof InvalidInputError || err instanceof ConfigurationError || err instanceof AwsPermanentError) {
    return err;
  }
  const code = errorCode(err);
  const message = `${what ? `${what} failed: ` : ''}${code}: ${errorMessage(err)}`;
  if (isTransient(err)) {
    return new TransientError(message, err);
  }
  return new AwsPermanentError(code, message);
}

/** Throws `classifyAwsError(err, what)`. */
export function rethrowClassified(err: unknown, what?: string): never {
  throw classifyAwsError(err, what);
}
