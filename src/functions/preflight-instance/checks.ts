/**
 * The pre-flight checks of one instance (issue 15, docs/workflow.md "A dry run"). Every call here reads, or asks EC2
 * with `DryRun: true`, or sends the script probe (src/functions/preflight-instance/probe.ts): nothing is frozen, stopped,
 * started or backed up, and no lease, journal entry or waiting task is written.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { type BackupClient, DescribeBackupVaultCommand } from '@aws-sdk/client-backup';
// eslint-disable-next-line import/no-extraneous-dependencies
import { DescribeInstancesCommand, type EC2Client, type Instance, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
// eslint-disable-next-line import/no-extraneous-dependencies
import { DescribeInstanceInformationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { probeRequest } from './probe';
import type { PreflightCheck, PreflightInstanceEvent, PreflightResult, ScriptProbe } from '../../contract/messages';
import type { PollPolicy } from '../../contract/poll';
import { nextPoll } from '../../contract/poll';
import {
  EC2_DRY_RUN_OPERATION, EC2_RUNNING, EC2_STOPPED, EC2_UNAUTHORIZED_OPERATION, PREFLIGHT_NOT_READY, PREFLIGHT_READY, SSM_NOT_MANAGED,
  SSM_PING_ONLINE, SSM_TERMINAL_STATUSES, SUCCESS,
} from '../../contract/status';
import { errorCode, isTransient, rethrowClassified } from '../../lambda-shared/errors';
import { describeInvocation, outputExcerpt } from '../../lambda-shared/script-status';

export interface PreflightClients {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly backup: BackupClient;
}

/** How long the chain waits for the probes: their delivery and execution timeouts, and a margin. */
export const PROBE_POLL_POLICY: PollPolicy = { kind: 'script', initialWaitSeconds: 5, capWaitSeconds: 30, maxSeconds: 300 };

/**
 * Milliseconds a vault's answer is reused by the same Lambda environment within one run (the instances of a page ask
 * about one vault): a run asks afresh, so a vault fixed after a dry run is seen by the next one.
 */
export const VAULT_ANSWER_TTL_MS = 60_000;
const vaultAnswers = new Map<string, { at: number; check: PreflightCheck }>();

/** Forgets the vault answers (tests). */
export function forgetVaultAnswers(): void {
  vaultAnswers.clear();
}

function message(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return `${errorCode(err)}: ${m}`.slice(0, 300);
}

/** Throws transient errors (the workflow retries the step), returns the others for the check to report. */
function permanent(err: unknown, what: string): unknown {
  if (isTransient(err)) {
    rethrowClassified(err, what);
  }
  return err;
}

async function describeInstance(clients: PreflightClients, instanceId: string): Promise<Instance | string> {
  try {
    const page = await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const found = (page.Reservations ?? []).flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    return found ?? 'DescribeInstances did not return the instance';
  } catch (err) {
    return `DescribeInstances failed: ${message(permanent(err, `DescribeInstances ${instanceId}`))}`;
  }
}

function tagCheck(event: PreflightInstanceEvent, instance: Instance | string): PreflightCheck {
  if (typeof instance === 'string') {
    return { name: 'tag', ok: false, detail: instance };
  }
  const tags = Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  const { tagKey, tagValue, filterTagKey, filterTagValue } = event.config;
  const pairs = [[tagKey, tagValue], ...(filterTagKey ? [[filterTagKey, filterTagValue]] : [])];
  const missing = pairs.filter(([k, v]) => tags[k] !== v).map(([k, v]) => `${k}=${v}`);
  return missing.length === 0
    ? { name: 'tag', ok: true, detail: `carries ${pairs.map(([k, v]) => `${k}=${v}`).join(', ')}` }
    : { name: 'tag', ok: false, detail: `does not carry ${missing.join(', ')} any more: a real run would not select it` };
}

function stateCheck(event: PreflightInstanceEvent, instance: Instance | string): PreflightCheck {
  if (typeof instance === 'string') {
    return { name: 'state', ok: false, detail: instance };
  }
  const state = instance.State?.Name ?? 'unknown';
  if (state === EC2_STOPPED) {
    return { name: 'state', ok: true, detail: 'stopped: a real run backs it up as it is, without scripts, and leaves it stopped' };
  }
  if (state !== EC2_RUNNING) {
    return { name: 'state', ok: false, detail: `${state}: a real run would not touch it (only running and stopped instances are backed up)` };
  }
  if (event.config.stopInstances && instance.RootDeviceType === 'instance-store') {
    return { name: 'state', ok: false, detail: 'running with an instance-store root device: it cannot be stopped, and the run stops instances' };
  }
  return { name: 'state', ok: true, detail: 'running: a real run runs its scripts and backs it up' };
}

async function agentCheck(clients: PreflightClients, instanceId: string): Promise<PreflightCheck> {
  let ping = SSM_NOT_MANAGED;
  try {
    const page = await clients.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }));
    const info = (page.InstanceInformationList ?? []).find((i) => i.InstanceId === instanceId);
    if (info) {
      ping = info.PingStatus ?? 'Unknown';
    }
  } catch (err) {
    return { name: 'agent', ok: false, detail: `DescribeInstanceInformation failed: ${message(permanent(err, `DescribeInstanceInformation ${instanceId}`))}` };
  }
  if (ping === SSM_PING_ONLINE) {
    return { name: 'agent', ok: true, detail: 'SSM agent Online' };
  }
  return {
    name: 'agent',
    ok: false,
    detail: ping === SSM_NOT_MANAGED
      ? 'not a managed node: SSM does not know the instance (no agent, no instance profile with SSM permissions, or no route to SSM)'
      : `SSM agent not online (PingStatus ${ping}): a real run would not run its scripts`,
  };
}

function platformCheck(event: PreflightInstanceEvent): PreflightCheck {
  const { preScript, postScript } = event.config;
  const platform = event.instance.platform;
  const wrong = [['pre-backup', preScript] as const, ['post-backup', postScript] as const]
    .filter(([, s]) => s.enabled && s.platform !== platform)
    .map(([label, s]) => `the ${label} script is for ${s.platform}`);
  return wrong.length === 0
    ? { name: 'platform', ok: true, detail: `${platform}, as the scripts` }
    : { name: 'platform', ok: false, detail: `the instance runs ${platform}, ${wrong.join(' and ')}` };
}

/**
 * EC2's own permission check: StopInstances and StartInstances with `DryRun: true` answer `DryRunOperation` when the
 * request would have been authorized, `UnauthorizedOperation` when not; nothing is stopped or started. This function's
 * role holds the same tag-conditioned statements as stop-instance and start-instance (preflight-instance.grants.ts).
 */
async function stopPermissionCheck(clients: PreflightClients, instanceId: string): Promise<PreflightCheck> {
  const problems: string[] = [];
  for (const [action, command] of [
    ['StopInstances', new StopInstancesCommand({ InstanceIds: [instanceId], DryRun: true })],
    ['StartInstances', new StartInstancesCommand({ InstanceIds: [instanceId], DryRun: true })],
  ] as const) {
    try {
      await clients.ec2.send(command as StopInstancesCommand);
      // EC2 always answers a DryRun request with an error: a success means the request was not a dry run.
      problems.push(`${action} with DryRun answered success instead of ${EC2_DRY_RUN_OPERATION}`);
    } catch (err) {
      const code = errorCode(err);
      if (code === EC2_DRY_RUN_OPERATION) {
        continue;
      }
      permanent(err, `${action} DryRun ${instanceId}`);
      problems.push(code === EC2_UNAUTHORIZED_OPERATION
        ? `${action} not permitted (${EC2_UNAUTHORIZED_OPERATION})`
        : `${action} DryRun refused: ${message(err)}`);
    }
  }
  return problems.length === 0
    ? { name: 'stop-permission', ok: true, detail: `StopInstances and StartInstances permitted (${EC2_DRY_RUN_OPERATION})` }
    : { name: 'stop-permission', ok: false, detail: problems.join('; ') };
}

/** The vault exists and this account may read it (DescribeBackupVault), answered once a minute per environment. */
/**
 * Vault Lock against the run's lifecycle: "any backup or copy job to the vault must have a lifecycle policy with a
 * retention period equal to or longer than the minimum retention period ... [or] equal to or shorter than the maximum
 * ... the vault fails the backup or copy job" (docs/fidelity/ec2.md). A job without a deletion (deleteAfterDays 0) keeps
 * its recovery point forever: longer than any maximum (inferred: the docs do not say how a job without one is judged).
 */
export function lockProblem(minDays: number | undefined, maxDays: number | undefined, deleteAfterDays: number): string {
  if (minDays !== undefined && deleteAfterDays > 0 && deleteAfterDays < minDays) {
    return `its Vault Lock keeps recovery points at least ${minDays} days, the run deletes them after ${deleteAfterDays}: AWS Backup fails the job`;
  }
  if (maxDays !== undefined && (deleteAfterDays === 0 || deleteAfterDays > maxDays)) {
    return `its Vault Lock keeps recovery points at most ${maxDays} days, the run keeps them ${deleteAfterDays === 0 ? 'forever' : `${deleteAfterDays} days`}: `
      + 'AWS Backup fails the job';
  }
  return '';
}

async function vaultCheck(
  clients: PreflightClients, runId: string, vaultName: string, deleteAfterDays: number, now: number,
): Promise<PreflightCheck> {
  const key = `${runId} ${vaultName}`;
  const known = vaultAnswers.get(key);
  if (known && now - known.at < VAULT_ANSWER_TTL_MS) {
    return known.check;
  }
  let check: PreflightCheck;
  try {
    const vault = await clients.backup.send(new DescribeBackupVaultCommand({ BackupVaultName: vaultName }));
    const state = vault.VaultState && vault.VaultState !== 'AVAILABLE' ? vault.VaultState : '';
    const lock = lockProblem(vault.MinRetentionDays, vault.MaxRetentionDays, deleteAfterDays);
    check = state
      ? { name: 'vault', ok: false, detail: `vault ${vaultName} is ${state}, not AVAILABLE` }
      : lock
        ? { name: 'vault', ok: false, detail: `vault ${vaultName}: ${lock}` }
        : { name: 'vault', ok: true, detail: `vault ${vaultName} readable${vault.Locked ? ' (locked)' : ''}` };
  } catch (err) {
    check = { name: 'vault', ok: false, detail: `vault ${vaultName}: DescribeBackupVault failed: ${message(permanent(err, `DescribeBackupVault ${vaultName}`))}` };
  }
  vaultAnswers.set(key, { at: now, check });
  for (const [k, v] of vaultAnswers) {
    if (now - v.at >= VAULT_ANSWER_TTL_MS) vaultAnswers.delete(k);
  }
  return check;
}

async function sendProbe(clients: PreflightClients, event: PreflightInstanceEvent, phase: 'pre' | 'post'): Promise<ScriptProbe> {
  const script = phase === 'pre' ? event.config.preScript : event.config.postScript;
  const request = probeRequest(script, event.execution, phase, event.instance.instanceId)!;
  try {
    const sent = await clients.ssm.send(new SendCommandCommand({ ...request, InstanceIds: [event.instance.instanceId] }));
    const commandId = sent.Command?.CommandId ?? '';
    return commandId
      ? { phase, commandId, status: 'Pending', detail: '' }
      : { phase, commandId: '', status: 'Failed', detail: 'SendCommand returned no CommandId' };
  } catch (err) {
    // A probe sent twice (a retried invocation) is harmless: it only tests a file.
    permanent(err, `SendCommand probe to ${event.instance.instanceId}`);
    return { phase, commandId: '', status: 'Failed', detail: `SendCommand refused: ${message(err)}` };
  }
}

function isTerminal(status: string): boolean {
  return SSM_TERMINAL_STATUSES.includes(status);
}

/** The verdict: ready when every check passed and every probe succeeded. */
export function verdictOf(checks: readonly PreflightCheck[], probes: readonly ScriptProbe[]): string {
  return checks.every((c) => c.ok) && probes.every((p) => p.status === SUCCESS) ? PREFLIGHT_READY : PREFLIGHT_NOT_READY;
}

function result(checks: PreflightCheck[], probes: ScriptProbe[], previous: PreflightResult | undefined): PreflightResult {
  const poll = nextPoll(previous?.poll, PROBE_POLL_POLICY);
  const waiting = probes.some((p) => !isTerminal(p.status));
  const done = !waiting || poll.expired;
  const final = done && waiting
    ? probes.map((p) => (isTerminal(p.status) ? p : {
      ...p,
      detail: `no final status within ${poll.maxSeconds} s (last ${p.status}): the instance did not answer the probe`,
    }))
    : probes;
  return { verdict: verdictOf(checks, final), checks, probes: final, done, poll };
}

/** `check`: every check of the instance, and the script probes sent when the scripts could run at all. */
export async function checkInstance(clients: PreflightClients, event: PreflightInstanceEvent, now: Date): Promise<PreflightResult> {
  const { config, instance } = event;
  const described = await describeInstance(clients, instance.instanceId);
  const checks: PreflightCheck[] = [tagCheck(event, described), stateCheck(event, described)];
  const state = typeof described === 'string' ? instance.state : described.State?.Name ?? instance.state;
  // What a real run does with the instance as it is now: scripts (and the stop) only on a running instance.
  const running = state === EC2_RUNNING;
  const scripts = running && (config.preScript.enabled || config.postScript.enabled);
  let scriptsCanRun = scripts;
  if (scripts) {
    const agent = await agentCheck(clients, instance.instanceId);
    const platform = platformCheck(event);
    checks.push(agent, platform);
    scriptsCanRun = agent.ok && platform.ok;
  }
  if (running && config.stopInstances) {
    checks.push(await stopPermissionCheck(clients, instance.instanceId));
  }
  if (state === EC2_RUNNING || state === EC2_STOPPED) {
    checks.push(await vaultCheck(clients, event.execution.id, config.backup.vaultName, config.backup.deleteAfterDays, now.getTime()));
  }
  const probes: ScriptProbe[] = [];
  if (scriptsCanRun) {
    for (const phase of ['pre', 'post'] as const) {
      const script = phase === 'pre' ? config.preScript : config.postScript;
      // The same object twice (one script for both phases) is probed once.
      if (script.enabled && !(phase === 'post' && config.preScript.enabled && config.preScript.sourceS3Path === script.sourceS3Path
        && config.preScript.workingDirectory === script.workingDirectory)) {
        if (script.document && !script.document.dlmConvention) {
          // Nothing in such a document is known to run nothing: not sent, and said so (not counted against readiness).
          checks.push({
            name: 'script',
            ok: true,
            detail: `${phase}-script document ${script.document.name} not probed: without DLM's convention it has no dry-run stage`,
          });
        } else {
          probes.push(await sendProbe(clients, event, phase));
        }
      }
    }
  }
  return result(checks, probes, undefined);
}

/** `look`: the probes' invocations again; done when each is terminal or the bounded wait is over. */
export async function lookAtProbes(clients: PreflightClients, event: PreflightInstanceEvent): Promise<PreflightResult> {
  const previous = event.previous;
  if (!previous) {
    throw new Error('look needs the previous result');
  }
  const probes: ScriptProbe[] = [];
  for (const probe of previous.probes) {
    if (isTerminal(probe.status) || !probe.commandId) {
      probes.push(probe);
      continue;
    }
    const invocation = await describeInvocation(clients.ssm, probe.commandId, event.instance.instanceId);
    const status = invocation?.Status ?? probe.status;
    probes.push({
      ...probe,
      status,
      detail: isTerminal(status) && status !== SUCCESS ? outputExcerpt(invocation) || (invocation?.StatusDetails ?? status) : '',
    });
  }
  return result(previous.checks, probes, previous);
}
