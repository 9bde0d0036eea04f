import { ConfiguredScript } from '../contract/settings';
import { BackupScriptConfig } from '../scripts/backup-script';

/** What the construct hands the workflow about its configuration (src/contract/settings.ts), besides the props. */

/** The most instance ids one execution input may list in TargetEC2Instances. */
export const MAX_TARGET_INSTANCES = 1000;

/** A bound script as the handlers see it. */
export function toConfiguredScript(script: BackupScriptConfig): ConfiguredScript {
  const document = script.document;
  if (!document && (!script.bucket || script.key === undefined || script.commandLine === undefined)) {
    throw new Error('A BackupScript must bind to an S3 script (bucket, key and commandLine) or to a Command document (document).');
  }
  return {
    bucketName: script.bucket?.bucketName ?? '',
    key: script.key ?? '',
    commandLine: script.commandLine ?? '',
    workingDirectory: script.workingDirectory ?? '',
    timeoutSeconds: script.timeout.toSeconds(),
    platform: script.platform,
    ...(document ? {
      document: {
        name: document.documentName,
        version: document.documentVersion ?? '',
        parameters: document.parameters,
        dlmConvention: document.dlmConvention,
      },
    } : {}),
    retries: script.retries ?? 0,
  };
}
