import { type DiscoveredInstance, type InstanceSteps } from '../../src/contract/instance';
import { type ExecutionContext, type PollState } from '../../src/contract/messages';
import { type ConstructSettings, type RunConfig } from '../../src/contract/settings';
import { validateInput } from '../../src/functions/validate-input/input';

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
  release: { mode: 'point-in-time', lookSeconds: 10, budgetSeconds: 1800, onBudgetSpent: 'release' },
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

/** A run configuration with both scripts off: its instances' entries come from the backup step alone. */
export function backupOnlyConfig(): RunConfig {
  return runConfig({
    preScript: { ...runConfig().preScript, enabled: false },
    postScript: { ...runConfig().postScript, enabled: false },
    scriptsEnabled: false,
  });
}

/** The poll state of a finished step. */
export const DONE_POLL: PollState = { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 5, maxSeconds: 60, expired: false };

/** The step results of a backup-only instance whose job ended in `state`. */
export function backupSteps(state: string, message = '', recoveryPointArn = ''): InstanceSteps {
  return { backup: { backupJobId: `job-${state}`, state, statusMessage: message, recoveryPointArn, percentDone: '100', done: true, poll: DONE_POLL } };
}

/** The n-th instance id of a fleet: `i-` and 17 hexadecimal digits. */
export const fleetInstanceId = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

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

/** Sets environment variables for the whole test file (beforeAll) and restores what was there before (afterAll). */
export function withEnvironment(vars: Record<string, string>): void {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const [name, value] of Object.entries(vars)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}
