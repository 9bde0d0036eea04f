import { matchesPattern, UnsupportedPatternError } from './pattern';

const event = {
  'version': '0',
  'source': 'aws.ec2',
  'detail-type': 'EC2 Instance State-change Notification',
  'resources': ['arn:aws:ec2:us-east-1:123456789012:instance/i-0123'],
  'detail': { 'instance-id': 'i-0123', 'state': 'stopped', 'attempt': 3, 'nested': { deep: 'x' } },
};

describe('EventBridge pattern matching', () => {
  test('exact values in arrays, nested objects; every field must match', () => {
    expect(matchesPattern({ 'source': ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] }, event)).toBe(true);
    expect(matchesPattern({ source: ['aws.ssm', 'aws.ec2'], detail: { state: ['stopped', 'running'] } }, event)).toBe(true);
    expect(matchesPattern({ source: ['aws.ec2'], detail: { state: ['running'] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { nested: { deep: ['x'] } } }, event)).toBe(true);
    expect(matchesPattern({ detail: { nested: { deep: ['y'] } } }, event)).toBe(false);
    // A nested pattern against a scalar, and a missing field.
    expect(matchesPattern({ source: { inner: ['x'] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { missing: ['x'] } }, event)).toBe(false);
    // Numbers are not strings.
    expect(matchesPattern({ detail: { attempt: [3] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { attempt: ['3'] } }, event)).toBe(false);
    // An array value in the event matches when any element matches.
    expect(matchesPattern({ resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-0123'] }, event)).toBe(true);
    expect(matchesPattern({}, event)).toBe(true);
  });

  test('prefix, suffix, equals-ignore-case, numeric', () => {
    expect(matchesPattern({ source: [{ prefix: 'aws.' }] }, event)).toBe(true);
    expect(matchesPattern({ source: [{ prefix: 'custom.' }] }, event)).toBe(false);
    expect(matchesPattern({ detail: { 'instance-id': [{ suffix: '0123' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'equals-ignore-case': 'STOPPED' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { attempt: [{ numeric: ['>', 2, '<=', 3] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { attempt: [{ numeric: ['<', 3] }] } }, event)).toBe(false);
  });

  test('anything-but: a value, a list, a prefix; a missing field does not match', () => {
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'running' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': ['stopped', 'terminated'] }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': { prefix: 'stop' } }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { state: [{ 'anything-but': { prefix: 'run' } }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { missing: [{ 'anything-but': 'x' }] } }, event)).toBe(false);
  });

  test('exists: true only for a present leaf, false only for an absent one', () => {
    expect(matchesPattern({ detail: { state: [{ exists: true }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { missing: [{ exists: true }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { missing: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ exists: false }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { nested: [{ exists: true }] } }, event)).toBe(false);
  });

  test('unsupported operators throw instead of guessing', () => {
    expect(() => matchesPattern({ source: [{ wildcard: 'aws.*' }] }, event)).toThrow(UnsupportedPatternError);
    expect(() => matchesPattern({ $or: [{ source: ['aws.ec2'] }] }, event)).toThrow(UnsupportedPatternError);
    expect(() => matchesPattern({ source: 'aws.ec2' }, event)).toThrow(UnsupportedPatternError);
  });
});
