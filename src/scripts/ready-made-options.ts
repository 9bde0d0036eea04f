import { Duration } from 'aws-cdk-lib';

/**
 * How the ready-made Linux filesystem freeze runs.
 */
export interface LinuxFilesystemFreezeOptions {
  /**
   * The mount points to freeze, absolute paths (`/data`). Never `/` nor `/boot`: freezing the root filesystem blocks
   * the SSM agent too, so nothing could deliver the thaw. The script also refuses, on the instance, the filesystems
   * holding the SSM agent's state and logs (`/var/lib/amazon/ssm`, `/var/log/amazon/ssm`).
   *
   * @default - every mounted ext2/3/4, xfs, btrfs and f2fs filesystem on a block device, except those above
   */
  readonly mountPoints?: string[];

  /**
   * When the on-instance safety timer thaws by itself if the post-script (`linuxFilesystemThaw()`) has not come,
   * counted from the moment the pre-script arms it (before freezing). Whole seconds, from 1 minute to 24 hours.
   *
   * @default - the construct's `freezeBudget` (default 30 minutes) plus 10 minutes for the workflow to deliver the
   * post-script
   */
  readonly safetyThawDelay?: Duration;

  /**
   * How long the freeze may take before SSM stops it (the script then thaws what it froze).
   *
   * @default Duration.minutes(2)
   */
  readonly timeout?: Duration;
}

/**
 * How the ready-made Linux filesystem thaw runs.
 */
export interface LinuxFilesystemThawOptions {
  /**
   * Whether the thaw fails (exit 203) when the safety timer had already thawed before it, after thawing everything.
   * Either way the audit entry's `SafetyThawFired` says so.
   *
   * @default false
   */
  readonly failIfSafetyThawFired?: boolean;

  /**
   * How long the thaw may take before SSM stops it.
   *
   * @default Duration.minutes(2)
   */
  readonly timeout?: Duration;
}
