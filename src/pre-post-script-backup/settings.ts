import { ConfiguredScript } from '../contract/settings';
import { BackupScriptConfig } from '../scripts/backup-script';

/** What the construct hands the workflow about its configuration (src/contract/settings.ts), besides the props. */

/** The most instance ids one execution input may list in TargetEC2Instances. */
export const MAX_TARGET_INSTANCES = 1000;

/** A bound script as the handlers see it. */
export function toConfiguredScript(script: BackupScriptConfig): ConfiguredScript {
  return {
    bucketName: script.bucket.bucketName,
    key: script.key,
    commandLine: script.commandLine,
    workingDirectory: script.workingDirectory ?? '',
    timeoutSeconds: script.timeout.toSeconds(),
    platform: script.platform,
    retries: script.retries ?? 0,
  };
}
