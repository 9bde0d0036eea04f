import {
  AwsPermanentError,
  classifyAwsError,
  InvalidInputError,
  isConditionFailed,
  RETRYABLE_ERROR_NAMES,
  rethrowClassified,
  TransientError,
} from '../../src/lambda-shared/errors';
import { awsError, throttling } from '../helpers/handler-fixtures';

describe('errors', () => {
  test('the names the workflow relies on', () => {
    expect(new TransientError('x').name).toBe('TransientError');
    expect(new InvalidInputError('x').name).toBe('InvalidInputError');
    expect(RETRYABLE_ERROR_NAMES).toEqual(['TransientError']);
  });

  test.each([
    ['ThrottlingException', {}],
    ['Throttling', {}],
    ['RequestLimitExceeded', {}],
    ['TooManyRequestsException', {}],
    ['ProvisionedThroughputExceededException', {}],
    ['ServiceUnavailable', {}],
    ['InternalError', {}],
    ['SomethingNew', { $retryable: {} }],
    ['SomethingElse', { $metadata: { httpStatusCode: 503 } }],
    ['ECONNRESET', {}],
    ['TimeoutError', {}],
  ])('%s is transient', (name, extra) => {
    const err = classifyAwsError(awsError(name, 'boom', extra), 'StopInstances i-1');
    expect(err).toBeInstanceOf(TransientError);
    expect(err.name).toBe('TransientError');
    expect(err.message).toContain('StopInstances i-1 failed');
    expect(err.message).toContain(name);
  });

  test('a network error with a Node code is transient', () => {
    const err = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classifyAwsError(err).name).toBe('TransientError');
  });

  test.each(['IncorrectInstanceState', 'InvalidInstanceID.NotFound', 'AccessDeniedException', 'ValidationException'])(
    '%s is permanent and keeps its code as name', (code) => {
      const err = classifyAwsError(awsError(code, 'nope'), 'DescribeInstances');
      expect(err).toBeInstanceOf(AwsPermanentError);
      expect(err.name).toBe(code);
      expect(err.message).toBe(`DescribeInstances failed: ${code}: nope`);
    });

  test('errors of this module pass through', () => {
    const invalid = new InvalidInputError('bad');
    expect(classifyAwsError(invalid)).toBe(invalid);
  });

  test('rethrowClassified throws the classified error', () => {
    expect(() => rethrowClassified(throttling(), 'x')).toThrow(TransientError);
    expect(() => rethrowClassified(awsError('UnauthorizedOperation'), 'x')).toThrow(expect.objectContaining({ name: 'UnauthorizedOperation' }));
  });

  test('isConditionFailed: a conditional write refused, and nothing else', () => {
    expect(isConditionFailed(awsError('ConditionalCheckFailedException', 'The conditional request failed'))).toBe(true);
    expect(isConditionFailed(awsError('TransactionCanceledException'))).toBe(false);
    expect(isConditionFailed(throttling())).toBe(false);
    expect(isConditionFailed(new Error('ConditionalCheckFailedException'))).toBe(false);
  });
});
