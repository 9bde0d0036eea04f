/**
 * Starting an AWS Backup job (or copy job) exactly once per execution and instance (docs/fidelity/backup.md).
 *
 * AWS Backup's idempotency token is not a promise for ever: an older text of the StartBackupJob API reference says
 * "Idempotency tokens time out after one hour"; the current one only says that retrying a successful request with
 * the same token takes no action. A fallback look (the waiting Task's Retry after its timeout) comes hours after the
 * start for a long job, and a second job for the same resource ends EXPIRED ("there was a running job for the same
 * resource"). So the instance journal (journal.ts) holds the job:
 *
 * 1. `beginAction` records the intent before the start.
 * 2. The job id is recorded with `recordResource` the moment AWS answers, before the handler answers.
 * 3. A later invocation that finds the id only looks at the job (fallback looks describe only).
 * 4. One that finds an intent without an id (the start's answer was lost, or the Lambda died before the write)
 *    recovers the job with ListBackupJobs / ListCopyJobs (by resource, vault and creation time from the intent minus
 *    `CLOCK_MARGIN_SECONDS`), records it, and only looks.
 * 5. Only when none is found may it start, and only while the first request's token is surely still valid
 *    (`TOKEN_SAFE_SECONDS` after the intent): AWS Backup then answers the job the first request started, if any.
 *    Later, it refuses (`JobStartUnconfirmedError`) rather than risk a second job.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { type BackupClient, type BackupJob, type CopyJob, paginateListBackupJobs, paginateListCopyJobs } from '@aws-sdk/client-backup';
import { rethrowClassified } from './errors';
import { beginAction, type JournalTarget, recordResource } from './journal';
import type { Logger } from './log';
import { type JournalAction } from '../contract/audit-schema';

// The journal's DocumentClient type, without importing lib-dynamodb here twice.
type Doc = Parameters<typeof beginAction>[0];

/**
 * Seconds by which the Lambda's clock (the intent's time) and AWS Backup's (the job's CreationDate) may differ: the
 * search starts this much before the intent. Lambda's clock is NTP-synchronized; 5 minutes is a wide margin.
 */
export const CLOCK_MARGIN_SECONDS = 300;

/**
 * Seconds after the intent during which a start may be repeated with the same idempotency token. The oldest AWS text
 * gives a token one hour ("Idempotency tokens time out after one hour"); the margin covers the clock skew and the
 * time the first request took.
 */
export const TOKEN_SAFE_SECONDS = 45 * 60;

/** The start of a job could not be confirmed and was not repeated: a second job could have been started. Never retried. */
export class JobStartUnconfirmedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobStartUnconfirmed';
  }
}

/** What a job start found or did. */
export interface JobStart {
  /** The job's id. */
  readonly jobId: string;
  /** How the id was obtained: started now, recorded by an earlier invocation, or recovered from the job list. */
  readonly how: 'started' | 'recorded' | 'recovered';
}

export interface StartOnceProps {
  readonly doc: Doc;
  readonly target: JournalTarget;
  readonly action: Extract<JournalAction, 'backup' | 'copy'>;
  readonly now: Date;
  /** Finds the job an earlier invocation started (created at or after `createdAfter`), if any. */
  readonly find: (createdAfter: Date) => Promise<string | undefined>;
  /** Starts the job and returns its id. */
  readonly start: () => Promise<string>;
  readonly log: Logger;
}

/** Starts the job at most once per execution and instance (see the file's comment). */
export async function startOnce(props: StartOnceProps): Promise<JobStart> {
  const { doc, target, action, now, log } = props;
  const begun = await beginAction(doc, target, action, now);
  if (begun.resourceId) {
    return { jobId: begun.resourceId, how: 'recorded' };
  }
  if (begun.repeated) {
    const intentAt = Date.parse(begun.intentAt);
    const recovered = await props.find(new Date(intentAt - CLOCK_MARGIN_SECONDS * 1000));
    if (recovered) {
      log.warn('job of an earlier invocation recovered from the job list', { action, jobId: recovered, intentAt: begun.intentAt });
      await recordResource(doc, target, action, recovered);
      return { jobId: recovered, how: 'recovered' };
    }
    const sinceIntent = (now.getTime() - intentAt) / 1000;
    if (sinceIntent > TOKEN_SAFE_SECONDS) {
      throw new JobStartUnconfirmedError(
        `the ${action} job's start of ${begun.intentAt} was not confirmed and no such job is listed; `
        + `not started again ${Math.round(sinceIntent)} s later, when its idempotency token may have expired`);
    }
    log.warn('an earlier start left no job id and no job is listed yet: starting again with the same token', { action, intentAt: begun.intentAt });
  }
  const jobId = await props.start();
  await recordResource(doc, target, action, jobId);
  return { jobId, how: 'started' };
}

/** Which backup job this run started for a resource: the criteria of the ListBackupJobs search. */
export interface BackupJobSearch {
  readonly resourceArn: string;
  readonly vaultName: string;
  readonly roleArn: string;
  readonly createdAfter: Date;
}

/**
 * The on-demand backup job of this resource, into this vault, with this role, created after `createdAfter` (the
 * earliest such one: the run's start came first, and a lease keeps other runs off the instance). Jobs a backup plan
 * created (`CreatedBy.BackupPlanId`) are not the run's.
 */
export async function findBackupJob(backup: BackupClient, search: BackupJobSearch): Promise<string | undefined> {
  return earliestListed<BackupJob>({
    what: `ListBackupJobs ${search.resourceArn}`,
    pages: () => paginateListBackupJobs({ client: backup }, {
      ByResourceArn: search.resourceArn,
      ByBackupVaultName: search.vaultName,
      ByCreatedAfter: search.createdAfter,
    }),
    jobsOf: (page) => (page as { BackupJobs?: BackupJob[] }).BackupJobs,
    idOf: (j) => j.BackupJobId,
    createdAfter: search.createdAfter,
    isOurs: (j) => j.ResourceArn === search.resourceArn
      && j.BackupVaultName === search.vaultName
      && (!j.IamRoleArn || j.IamRoleArn === search.roleArn),
  });
}

/** Which copy job this run started: the criteria of the ListCopyJobs search. */
export interface CopyJobSearch {
  /** The source resource (the instance): a copy job's ResourceArn. */
  readonly resourceArn: string;
  readonly sourceRecoveryPointArn: string;
  readonly destinationVaultArn: string;
  readonly createdAfter: Date;
}

/** The copy job of this recovery point into this vault, created after `createdAfter` (the earliest such one). */
export async function findCopyJob(backup: BackupClient, search: CopyJobSearch): Promise<string | undefined> {
  return earliestListed<CopyJob>({
    what: `ListCopyJobs ${search.resourceArn}`,
    pages: () => paginateListCopyJobs({ client: backup }, {
      ByResourceArn: search.resourceArn,
      ByDestinationVaultArn: search.destinationVaultArn,
      ByCreatedAfter: search.createdAfter,
    }),
    jobsOf: (page) => (page as { CopyJobs?: CopyJob[] }).CopyJobs,
    idOf: (j) => j.CopyJobId,
    createdAfter: search.createdAfter,
    isOurs: (j) => j.SourceRecoveryPointArn === search.sourceRecoveryPointArn
      && j.DestinationBackupVaultArn === search.destinationVaultArn,
  });
}

/** A job list search: every page of the list, and what makes a listed job the run's. */
interface JobListing<J extends BackupJob | CopyJob> {
  /** The request, for the error message. */
  readonly what: string;
  /** The SDK paginator over the list. */
  readonly pages: () => AsyncIterable<unknown>;
  readonly jobsOf: (page: unknown) => J[] | undefined;
  readonly idOf: (job: J) => string | undefined;
  readonly createdAfter: Date;
  /** The search's own criteria (a job a backup plan created, or created too early, is never the run's). */
  readonly isOurs: (job: J) => boolean;
}

/** The earliest listed job that is the run's (see JobListing), or undefined. */
async function earliestListed<J extends BackupJob | CopyJob>(listing: JobListing<J>): Promise<string | undefined> {
  const jobs: J[] = [];
  try {
    for await (const page of listing.pages()) {
      jobs.push(...listing.jobsOf(page) ?? []);
    }
  } catch (err) {
    rethrowClassified(err, listing.what);
  }
  const ours = jobs.filter((j) => listing.isOurs(j)
    && !j.CreatedBy?.BackupPlanId
    && (j.CreationDate?.getTime() ?? 0) >= listing.createdAfter.getTime()
    && !!listing.idOf(j));
  ours.sort((a, b) => (a.CreationDate?.getTime() ?? 0) - (b.CreationDate?.getTime() ?? 0));
  return ours.length > 0 ? listing.idOf(ours[0]) : undefined;
}
