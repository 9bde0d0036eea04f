import type {
  ConstructSettings,
  DiscoveredInstance,
  ExecutionContext,
  RunConfig,
} from '../../src/runtime/contracts';
import { validateInput } from '../../src/runtime/input';

// Handlers log one JSON line per event; keep test output readable.
process.env.LOG_LEVEL = 'silent';

export const REGION = 'eu-west-1';

export const SETTINGS: ConstructSettings = {
  tagKey: 'backup-job-pre-post-script',
  tagValue: 'true',
  stopInstances: false,
  runPreScript: true,
  runPostScript: true,
  preScript: {
    bucketName: 'assets-bucket',
    key: 'scripts/freeze.sh',
    commandLine: 'bash freeze.sh',
    workingDirectory: '',
    timeoutSeconds: 600,
    platform: 'Linux',
  },
  postScript: {
    bucketName: 'assets-bucket',
    key: 'scripts/thaw.sh',
    commandLine: 'bash thaw.sh',
    workingDirectory: '/opt/app',
    timeoutSeconds: 300,
    platform: 'Linux',
  },
  backupVaultName: 'app-vault',
  backupRoleArn: 'arn:aws:iam::111122223333:role/backup-role',
  deleteAfterDays: 35,
  moveToColdStorageAfterDays: 0,
  startWindowMinutes: 60,
  completeWindowMinutes: 120,
  windowsVss: true,
  recoveryPointTags: { app: 'shop' },
  copyVaultArn: '',
  copyDeleteAfterDays: 0,
  outputS3BucketName: 'output-bucket',
  outputS3KeyPrefix: 'ssm-output/',
  maxTargetInstances: 100,
  region: REGION,
  instanceArnPrefix: 'arn:aws:ec2:eu-west-1:111122223333:instance/',
};

export const EXECUTION: ExecutionContext = {
  id: 'arn:aws:states:eu-west-1:111122223333:execution:Backup:run-1',
  name: 'run-1',
  startTime: '2024-05-01T02:00:00.000Z',
};

/** The run configuration of `{}`, with overrides. */
export function runConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return { ...validateInput({}, SETTINGS), ...overrides };
}

export function instance(overrides: Partial<DiscoveredInstance> = {}): DiscoveredInstance {
  return { instanceId: 'i-0123456789abcdef0', state: 'running', platform: 'Linux', ssmPingStatus: 'Online', ...overrides };
}

/** An AWS SDK style service error. */
export function awsError(name: string, message = name, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 }, ...extra });
}

export function throttling(): Error {
  return awsError('ThrottlingException', 'Rate exceeded', { $retryable: { throttling: true } });
}
