/**
 * AWS Backup over REST-JSON: `PUT /backup-jobs` (StartBackupJob), `GET /backup-jobs/{id}` (DescribeBackupJob),
 * `GET /backup-jobs/` (ListBackupJobs), `PUT /copy-jobs` (StartCopyJob), `GET /copy-jobs/{id}` (DescribeCopyJob),
 * `GET /copy-jobs/` (ListCopyJobs), `GET /backup-vaults/{name}` (DescribeBackupVault, issue 15). What each does and the AWS text it follows: docs/fidelity/backup.md.
 */
import { FakeHandler, FakeRequest, FakeResponse } from './http';
import { recoveryPointArnOf } from './recovery-points';
import { checkThrottle } from './throttling';
import { ACCOUNT_ID, BackupJob, CopyJob, FakeApiError, JobListFilter, REGION, World } from '../world';

function json(body: unknown): FakeResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export function backupErrorResponse(code: string, message: string, status: number): FakeResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': `${code}:http://internal.amazon.com/coral/com.amazonaws.cryo/` },
    body: JSON.stringify({ Code: code, Message: message }),
  };
}

const epoch = (d: Date) => d.getTime() / 1000;

function instanceIdOf(resourceArn: unknown): string | undefined {
  const m = /^arn:[^:]+:ec2:[^:]*:[^:]*:instance\/(i-[0-9a-zA-Z]+)$/.exec(String(resourceArn ?? ''));
  return m?.[1];
}

const FAILURE_MESSAGES: Record<string, string> = {
  FAILED: 'An internal error occurred while creating the snapshot (simulated).',
  ABORTED: 'Backup job was aborted (simulated).',
  EXPIRED: 'Backup job expired: it did not complete within the complete window (simulated).',
  PARTIAL: 'Some volumes could not be backed up (simulated).',
};

function describe(world: World, job: BackupJob): Record<string, unknown> {
  const final = ['COMPLETED', 'FAILED', 'ABORTED', 'EXPIRED', 'PARTIAL'].includes(job.state);
  const p = job.params as Record<string, any>;
  // When RecoveryPointArn shows is undocumented: worst plausible (fakes/recovery-points.ts, docs/fidelity/backup.md).
  const recoveryPointArn = recoveryPointArnOf(world, job);
  return {
    AccountId: ACCOUNT_ID,
    BackupJobId: job.backupJobId,
    BackupVaultName: job.backupVaultName,
    BackupVaultArn: `arn:aws:backup:${REGION}:${ACCOUNT_ID}:backup-vault:${job.backupVaultName}`,
    ...(recoveryPointArn ? { RecoveryPointArn: recoveryPointArn } : {}),
    ResourceArn: job.resourceArn,
    ResourceType: 'EC2',
    CreationDate: epoch(job.creationDate),
    ...(final ? { CompletionDate: epoch(world.clock.dateAt(world.now(job.instanceId))) } : {}),
    State: job.state,
    ...(final && job.state !== 'COMPLETED' ? { StatusMessage: job.behaviour.statusMessage ?? FAILURE_MESSAGES[job.state] } : {}),
    // "Completed with issues" is a COMPLETED job with a status message (AWS Backup developer guide, EventBridge page).
    ...(final && job.state === 'COMPLETED' && job.behaviour.statusMessage ? { StatusMessage: job.behaviour.statusMessage } : {}),
    PercentDone: job.state === 'COMPLETED' ? '100.0' : job.state === 'RUNNING' || job.state === 'ABORTING' ? '50.0' : '0.0',
    BackupSizeInBytes: job.state === 'COMPLETED' ? 8589934592 : 0,
    IamRoleArn: job.iamRoleArn,
    StartBy: epoch(new Date(job.creationDate.getTime() + (p.StartWindowMinutes ?? 480) * 60_000)),
    BackupOptions: p.BackupOptions ?? {},
    BackupType: p.BackupOptions?.WindowsVSS === 'enabled' ? 'WindowsVSS' : '',
    IsParent: false,
    ResourceName: job.instanceId,
  };
}

function describeCopy(job: CopyJob): Record<string, unknown> {
  const final = ['COMPLETED', 'FAILED', 'PARTIAL'].includes(job.state);
  return {
    AccountId: ACCOUNT_ID,
    CopyJobId: job.copyJobId,
    SourceRecoveryPointArn: job.params.RecoveryPointArn,
    SourceBackupVaultArn: `arn:aws:backup:${REGION}:${ACCOUNT_ID}:backup-vault:${job.params.SourceBackupVaultName}`,
    DestinationBackupVaultArn: job.params.DestinationBackupVaultArn,
    ...(job.state === 'COMPLETED' ? { DestinationRecoveryPointArn: job.destinationRecoveryPointArn } : {}),
    ResourceArn: job.resourceArn,
    ResourceType: 'EC2',
    CreationDate: epoch(job.creationDate),
    State: job.state,
    ...(final && job.state !== 'COMPLETED' ? { StatusMessage: 'The destination vault refused the copy (simulated).' } : {}),
    IamRoleArn: job.params.IamRoleArn,
  };
}

/** A query timestamp: the SDK sends ISO-8601 (REST-JSON's default for query strings); epoch seconds are accepted too. */
function queryDate(req: FakeRequest, name: string): Date | undefined {
  const raw = req.query.get(name);
  if (raw === null) return undefined;
  const d = /^\d+(\.\d+)?$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
  if (Number.isNaN(d.getTime())) {
    throw new FakeApiError({ code: 'InvalidParameterValueException', message: `${name} is not a timestamp: ${raw}` });
  }
  return d;
}

/** The list filters of a ListBackupJobs / ListCopyJobs request. */
function listFilter(req: FakeRequest): JobListFilter {
  const q = (name: string) => req.query.get(name) ?? undefined;
  return {
    resourceArn: q('resourceArn'),
    state: q('state'),
    backupVaultName: q('backupVaultName'),
    destinationVaultArn: q('destinationVaultArn'),
    sourceRecoveryPointArn: q('sourceRecoveryPointArn'),
    createdAfter: queryDate(req, 'createdAfter'),
    createdBefore: queryDate(req, 'createdBefore'),
  };
}

/**
 * One page of a list: MaxResults 1..1000 (the API's range), at most `pageSize` items whatever MaxResults asks (AWS may
 * answer fewer), NextToken an opaque offset.
 */
function page<T>(req: FakeRequest, items: T[], pageSize: number): { items: T[]; nextToken?: string } {
  const maxRaw = req.query.get('maxResults');
  const max = maxRaw === null ? 1000 : Number(maxRaw);
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    throw new FakeApiError({ code: 'InvalidParameterValueException', message: `MaxResults must be 1 to 1000, got ${maxRaw}` });
  }
  const token = req.query.get('nextToken');
  const start = token === null ? 0 : Number(Buffer.from(token, 'base64').toString('utf8').replace(/^offset:/, ''));
  if (!Number.isInteger(start) || start < 0) {
    throw new FakeApiError({ code: 'InvalidParameterValueException', message: `Invalid NextToken ${token}` });
  }
  const size = Math.min(max, pageSize);
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(`offset:${end}`).toString('base64') } : {}) };
}

export function backupHandler(world: World): FakeHandler {
  return (req: FakeRequest) => {
    let action = 'Unknown';
    let params: any = {};
    let instanceIds: string[] = [];
    const m = /^\/backup-jobs\/([^/]+)$/.exec(req.path);
    const copy = /^\/copy-jobs\/([^/]+)$/.exec(req.path);
    if (req.method === 'PUT' && req.path === '/backup-jobs') {
      action = 'StartBackupJob';
      try {
        params = JSON.parse(req.body || '{}');
      } catch {
        return backupErrorResponse('InvalidParameterValueException', 'bad JSON', 400);
      }
      const id = instanceIdOf(params.ResourceArn);
      instanceIds = id ? [id] : [];
    } else if (req.method === 'PUT' && req.path === '/copy-jobs') {
      action = 'StartCopyJob';
      try {
        params = JSON.parse(req.body || '{}');
      } catch {
        return backupErrorResponse('InvalidParameterValueException', 'bad JSON', 400);
      }
      const source = [...world.backupJobs.values()].find(j => j.recoveryPointArn === params.RecoveryPointArn);
      instanceIds = source?.instanceId ? [source.instanceId] : [];
    } else if (req.method === 'GET' && copy) {
      action = 'DescribeCopyJob';
      params = { CopyJobId: copy[1] };
      const job = world.copyJobs.get(copy[1]);
      instanceIds = job?.instanceId ? [job.instanceId] : [];
    } else if (req.method === 'GET' && /^\/backup-jobs\/?$/.test(req.path)) {
      action = 'ListBackupJobs';
      params = Object.fromEntries(req.query.entries());
      const id = instanceIdOf(req.query.get('resourceArn'));
      instanceIds = id ? [id] : [];
    } else if (req.method === 'GET' && /^\/copy-jobs\/?$/.test(req.path)) {
      action = 'ListCopyJobs';
      params = Object.fromEntries(req.query.entries());
      const id = instanceIdOf(req.query.get('resourceArn'));
      instanceIds = id ? [id] : [];
    } else if (req.method === 'POST' && m) {
      action = 'StopBackupJob';
      params = { BackupJobId: m[1] };
      const job = world.backupJobs.get(m[1]);
      instanceIds = job?.instanceId ? [job.instanceId] : [];
    } else if (req.method === 'GET' && /^\/backup-vaults\/[^/]+$/.test(req.path)) {
      action = 'DescribeBackupVault';
      params = { BackupVaultName: decodeURIComponent(req.path.slice('/backup-vaults/'.length)) };
    } else if (req.method === 'GET' && m) {
      action = 'DescribeBackupJob';
      params = { BackupJobId: m[1] };
      const job = world.backupJobs.get(m[1]);
      instanceIds = job?.instanceId ? [job.instanceId] : [];
    }
    try {
      world.recordCall('backup', action, instanceIds, params);
      checkThrottle(world, 'backup', action, instanceIds);
      if (action === 'StartBackupJob') {
        for (const k of ['BackupVaultName', 'ResourceArn', 'IamRoleArn']) {
          if (!params[k]) throw new FakeApiError({ code: 'MissingParameterValueException', message: `${k} is required` });
        }
        if (!instanceIds[0]) {
          throw new FakeApiError({ code: 'InvalidParameterValueException', message: `Invalid ARN ${params.ResourceArn}: only EC2 instances are supported by the fake` });
        }
        const job = world.startBackupJob(params, instanceIds[0]);
        if (world.loseJobAnswer('StartBackupJob', instanceIds[0])) {
          throw new FakeApiError({ code: 'ServiceUnavailableException', message: 'The answer was lost (simulated): the job was started', httpStatus: 500 });
        }
        // RecoveryPointArn is answered only for EFS and advanced DynamoDB resources: never for EC2.
        return json({
          BackupJobId: job.backupJobId,
          CreationDate: epoch(job.creationDate),
          IsParent: false,
        });
      }
      if (action === 'DescribeBackupVault') {
        return json(world.describeBackupVault(String(params.BackupVaultName)));
      }
      if (action === 'DescribeBackupJob') {
        const job = world.backupJobs.get(params.BackupJobId);
        if (!job) throw new FakeApiError({ code: 'ResourceNotFoundException', message: `Cannot find backup job ${params.BackupJobId}` });
        return json(describe(world, world.observeBackupJob(job)));
      }
      if (action === 'StopBackupJob') {
        const job = world.backupJobs.get(params.BackupJobId);
        if (!job) throw new FakeApiError({ code: 'ResourceNotFoundException', message: `Cannot find backup job ${params.BackupJobId}` });
        world.stopBackupJob(job);
        return { status: 200, headers: { 'content-type': 'application/json' }, body: '' };
      }
      if (action === 'StartCopyJob') {
        for (const k of ['RecoveryPointArn', 'SourceBackupVaultName', 'DestinationBackupVaultArn', 'IamRoleArn']) {
          if (!params[k]) throw new FakeApiError({ code: 'MissingParameterValueException', message: `${k} is required` });
        }
        const job = world.startCopyJob(params);
        if (world.loseJobAnswer('StartCopyJob', job.instanceId)) {
          throw new FakeApiError({ code: 'ServiceUnavailableException', message: 'The answer was lost (simulated): the copy job was started', httpStatus: 500 });
        }
        return json({ CopyJobId: job.copyJobId, CreationDate: epoch(job.creationDate), IsParent: false });
      }
      if (action === 'ListBackupJobs') {
        const { items, nextToken } = page(req, world.listBackupJobs(listFilter(req)), world.options.listPageSize);
        return json({ BackupJobs: items.map((j) => describe(world, j)), ...(nextToken ? { NextToken: nextToken } : {}) });
      }
      if (action === 'ListCopyJobs') {
        const { items, nextToken } = page(req, world.listCopyJobs(listFilter(req)), world.options.listPageSize);
        return json({ CopyJobs: items.map(describeCopy), ...(nextToken ? { NextToken: nextToken } : {}) });
      }
      if (action === 'DescribeCopyJob') {
        const job = world.copyJobs.get(params.CopyJobId);
        if (!job) throw new FakeApiError({ code: 'ResourceNotFoundException', message: `Cannot find copy job ${params.CopyJobId}` });
        return json({ CopyJob: describeCopy(world.observeCopyJob(job)) });
      }
      return backupErrorResponse('UnknownOperationException', `${req.method} ${req.path} is not supported by the fake`, 404);
    } catch (e) {
      if (e instanceof FakeApiError) {
        const last = world.calls[world.calls.length - 1];
        if (last) last.error = e.code;
        return backupErrorResponse(e.code, e.message, e.httpStatus);
      }
      throw e;
    }
  };
}
