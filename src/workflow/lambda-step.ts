import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

/**
 * Errors worth trying again: the handlers' own `TransientError` (throttling, 5xx, network) and the Lambda
 * service's transient failures. Everything else is caught into the failure path at once.
 */
export const TRANSIENT_ERRORS = [
  'TransientError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.Unknown',
  sfn.Errors.TIMEOUT,
];

/** Errors of a direct DynamoDB task (no Lambda) worth trying again: throttling and DynamoDB's transient failures. */
export const DYNAMODB_TRANSIENT_ERRORS = [
  'DynamoDB.ProvisionedThroughputExceededException',
  'DynamoDB.ThrottlingException',
  'DynamoDB.InternalServerErrorException',
  'DynamoDB.RequestLimitExceeded',
  'DynamoDB.AmazonDynamoDBException',
  sfn.Errors.TIMEOUT,
];

/** Where a caught error goes: the state to continue with and the path the `{Error, Cause}` is stored at. */
export interface FailureRoute {
  readonly next: sfn.IChainable;
  readonly errorPath: string;
}

export interface LambdaStepProps {
  readonly fn: lambda.IFunction;
  readonly payload: { [key: string]: unknown };
  readonly resultPath: string;
  /** @default '$' */
  readonly outputPath?: string;
  readonly comment?: string;
  /** Where any error left after the retries goes. */
  readonly onError: FailureRoute;
}

/**
 * A Lambda task whose output is the handler's return value, with bounded retries on transient errors
 * (exponential backoff with jitter: 2, 4, 8, 16, 32 s) and every other error caught into `onError`.
 */
export function lambdaStep(scope: Construct, id: string, props: LambdaStepProps): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: props.fn,
    payload: sfn.TaskInput.fromObject(props.payload),
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    resultPath: props.resultPath,
    outputPath: props.outputPath,
    taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
    comment: props.comment,
  });
  retryWithBackoff(task, TRANSIENT_ERRORS, Duration.seconds(60));
  task.addCatch(props.onError.next, { errors: [sfn.Errors.ALL], resultPath: props.onError.errorPath });
  return task;
}

/**
 * The workflow's one retry policy: up to 5 attempts, exponential backoff from 2 s with full jitter.
 * @param errors the errors worth trying again (throttling, transient service errors)
 * @param maxDelay a cap on one wait
 */
export function retryWithBackoff(task: sfn.TaskStateBase, errors: string[], maxDelay?: Duration): void {
  task.addRetry({
    errors,
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 5,
    maxDelay,
    jitterStrategy: sfn.JitterType.FULL,
  });
}
