import { parseS3Location, s3HttpsUrl } from '../../src/lambda-shared/s3-location';

describe('S3 locations', () => {
  const expected = { bucket: 'my-bucket', key: 'scripts/freeze.sh' };
  test.each([
    's3://my-bucket/scripts/freeze.sh',
    'https://my-bucket.s3.amazonaws.com/scripts/freeze.sh',
    'https://my-bucket.s3.eu-west-1.amazonaws.com/scripts/freeze.sh',
    'https://my-bucket.s3-eu-west-1.amazonaws.com/scripts/freeze.sh',
    'https://s3.amazonaws.com/my-bucket/scripts/freeze.sh',
    'https://s3.eu-west-1.amazonaws.com/my-bucket/scripts/freeze.sh',
    'https://s3-eu-west-1.amazonaws.com/my-bucket/scripts/freeze.sh',
    'https://s3.cn-north-1.amazonaws.com.cn/my-bucket/scripts/freeze.sh',
  ])('parses %s', (url) => {
    expect(parseS3Location(url)).toEqual(expected);
  });

  test('decodes percent-encoded keys of https URLs', () => {
    expect(parseS3Location('https://s3.eu-west-1.amazonaws.com/b/my%20script.sh')).toEqual({ bucket: 'b', key: 'my script.sh' });
  });

  test.each([
    'my-bucket/freeze.sh',
    'http://s3.amazonaws.com/my-bucket/freeze.sh',
    'https://example.com/my-bucket/freeze.sh',
    'https://s3.amazonaws.com/my-bucket',
    's3://my-bucket',
    'https://my-bucket.s3.amazonaws.com.evil.com/freeze.sh',
  ])('rejects %s', (url) => {
    expect(parseS3Location(url)).toBeUndefined();
  });

  test('builds the path-style URL of a Region', () => {
    expect(s3HttpsUrl('eu-west-1', 'b', 'dir/x.sh')).toBe('https://s3.eu-west-1.amazonaws.com/b/dir/x.sh');
    expect(s3HttpsUrl('cn-north-1', 'b', 'x.sh')).toBe('https://s3.cn-north-1.amazonaws.com.cn/b/x.sh');
  });
});
