/** S3 object locations in the forms users of the original sample wrote them, and the one the handlers use. */

export interface S3ObjectLocation {
  readonly bucket: string;
  readonly key: string;
}

/** The DNS suffix of S3 in a Region (China Regions use amazonaws.com.cn). */
export function s3DomainSuffix(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

function encodeKey(key: string): string {
  return key.split('/').map((segment) => encodeURIComponent(segment)).join('/');
}

/** `https://s3.<region>.amazonaws.com/<bucket>/<key>`: the path-style URL given to AWS-RunRemoteScript. */
export function s3HttpsUrl(region: string, bucket: string, key: string): string {
  return `https://s3.${region}.${s3DomainSuffix(region)}/${bucket}/${encodeKey(key)}`;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d';
const SUFFIX = 'amazonaws\\.com(?:\\.cn)?';
const VIRTUAL_HOSTED = new RegExp(`^([a-z0-9][a-z0-9.-]*[a-z0-9])\\.s3(?:[.-](?:${REGION}))?\\.${SUFFIX}$`);
const PATH_STYLE = new RegExp(`^s3(?:[.-](?:${REGION}))?\\.${SUFFIX}$`);

/**
 * Parses `s3://bucket/key`, `https://bucket.s3[.region].amazonaws.com/key`, `https://s3[.region].amazonaws.com/bucket/key`
 * and `https://s3-region.amazonaws.com/bucket/key`. Returns undefined for anything else.
 * Keys of https URLs are percent-decoded.
 */
export function parseS3Location(text: string): S3ObjectLocation | undefined {
  const s3Uri = /^s3:\/\/([^/]+)\/(.+)$/.exec(text);
  if (s3Uri) {
    return { bucket: s3Uri[1], key: s3Uri[2] };
  }
  const https = /^https:\/\/([^/?#]+)\/([^?#]+)$/.exec(text);
  if (!https) {
    return undefined;
  }
  const host = https[1].toLowerCase();
  const path = https[2];
  const virtual = VIRTUAL_HOSTED.exec(host);
  if (virtual && !PATH_STYLE.test(host)) {
    return { bucket: virtual[1], key: decode(path) };
  }
  if (PATH_STYLE.test(host)) {
    const slash = path.indexOf('/');
    if (slash <= 0 || slash === path.length - 1) {
      return undefined;
    }
    return { bucket: path.slice(0, slash), key: decode(path.slice(slash + 1)) };
  }
  return undefined;
}
