/**
 * The instance's shell: for an instance given one, AWS-RunRemoteScript invocations really run. The script is
 * "downloaded" from the synthesized assets (cdk.out: the object the template uploads), saved under its key's last
 * segment in a download folder of its own, and its command line is run with `sh` exactly as AWS-RunRemoteScript's shell
 * step runs it (`directory=$(pwd)`, `export PATH=$PATH:$directory`, ` <commandLine> `), as root would see it: the exit
 * code, stdout and stderr are the invocation's. The instance is a sandbox folder: its mount table, its frozen
 * filesystems and systemd's armed timers are files there, kept by the stand-in tools in `instance-bin/` (fsfreeze,
 * findmnt, systemd-run, systemctl, id, date; flock and bash are the real ones). Nothing needs root and nothing real is
 * frozen: the real freeze is tested by test/ready-made/fsfreeze.test.ts.
 *
 * Time: the instance's clock is the simulator's (the world's virtual clock of that instance, `date` answers it). An
 * armed timer fires when that clock reaches its due time: before anything else runs on the instance, and when a test
 * calls `fireDueTimers`; its command runs in the same sandbox, as systemd would run the service (its own environment,
 * its output kept). docs/fidelity/ready-made.md says what is modelled and what is not.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { CommandInvocation, ScriptBehaviour, World } from '../world';

const INSTANCE_BIN = path.join(__dirname, 'instance-bin');
/** The state directory the ready-made freeze uses on the instance (its default is /run/ppsb-fsfreeze). */
const STATE_ROOT = 'run/ppsb-fsfreeze';
/** systemd's default PATH for services (systemd.exec(5)). */
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** A wall-clock bound on one script here: the ready-made scripts take well under a second. */
const RUN_LIMIT_MS = 60_000;

export interface InstanceShellOptions {
  /** The cloud assembly folder the template was synthesized to: the assets SSM downloads. */
  readonly assetDir: string;
  /** The instance's data filesystems (ext4 on EBS volumes) by mount point. The root filesystem `/` is always there. */
  readonly mountPoints?: readonly string[];
}

/** One command line the instance ran. */
export interface ShellRun {
  readonly commandId: string;
  readonly commandLine: string;
  /** The instance's clock when it ran (epoch seconds). */
  readonly at: number;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A timer armed with systemd-run. */
export interface ArmedTimer {
  readonly unit: string;
  /** Epoch seconds on the instance's clock. */
  readonly armedAt: number;
  readonly dueAt: number;
  readonly command: readonly string[];
}

/** A timer that elapsed and ran its command. */
export interface FiredTimer extends ArmedTimer {
  readonly firedAt: number;
  readonly exitCode: number;
  readonly output: string;
}

/** One fsfreeze call on the instance. */
export interface FreezeEvent {
  /** Epoch seconds on the instance's clock. */
  readonly at: number;
  readonly result: 'frozen' | 'thawed' | 'freeze-ebusy' | 'thaw-einval';
  readonly mountPoint: string;
}

const shells = new WeakMap<World, Map<string, InstanceShell>>();

/** The first block device of this machine: the stand-in volumes point at it, so `[[ -b ]]` holds (nothing opens it). */
function someBlockDevice(): string {
  for (const name of fs.readdirSync('/dev')) {
    const p = path.join('/dev', name);
    try {
      if (fs.statSync(p).isBlockDevice()) return p;
    } catch {
      // not readable: next
    }
  }
  throw new Error('InstanceShell: this machine has no block device under /dev for the stand-in volumes to point at');
}

export class InstanceShell {
  /** Gives `instanceId` of `world` a shell: its AWS-RunRemoteScript invocations run for real from now on. */
  public static attach(world: World, instanceId: string, options: InstanceShellOptions): InstanceShell {
    let byInstance = shells.get(world);
    if (!byInstance) shells.set(world, byInstance = new Map());
    const shell = new InstanceShell(world, instanceId, options);
    byInstance.get(instanceId)?.dispose();
    byInstance.set(instanceId, shell);
    return shell;
  }

  /** The shell of an instance, if it has one. */
  public static of(world: World, instanceId: string): InstanceShell | undefined {
    return shells.get(world)?.get(instanceId);
  }

  /** The sandbox folder standing for the instance's filesystem. */
  public readonly root: string;
  /** Every command line run, in order. */
  public readonly runs: ShellRun[] = [];
  /** Every timer that elapsed, in order. */
  public readonly fired: FiredTimer[] = [];
  private readonly realDate: string;

  private constructor(private readonly world: World, public readonly instanceId: string, private readonly options: InstanceShellOptions) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `instance-${instanceId}-`));
    for (const dir of ['frozen', 'systemd', 'ssm', 'dev', STATE_ROOT]) fs.mkdirSync(path.join(this.root, dir), { recursive: true });
    fs.writeFileSync(path.join(this.root, 'fsfreeze.log'), '');
    fs.writeFileSync(path.join(this.root, 'calls.log'), '');
    const device = someBlockDevice();
    const lines = [`/ ${this.device('xvda', device)} ext4 259:0`, `${path.join(this.root, 'run')} tmpfs tmpfs 0:25`];
    (options.mountPoints ?? []).forEach((m, i) => {
      lines.push(`${m} ${this.device(`xvd${String.fromCharCode('f'.charCodeAt(0) + i)}`, device)} ext4 259:${i + 1}`);
    });
    fs.writeFileSync(path.join(this.root, 'mounts'), `${lines.join('\n')}\n`);
    const which = spawnSync('bash', ['-c', 'command -v date'], { encoding: 'utf8' });
    this.realDate = which.stdout.trim() || '/bin/date';
  }

  private device(name: string, target: string): string {
    const p = path.join(this.root, 'dev', name);
    fs.symlinkSync(target, p);
    return p;
  }

  /** The instance's clock, epoch seconds. */
  public now(): number {
    return Math.floor(this.world.clock.dateAt(this.world.now(this.instanceId)).getTime() / 1000);
  }

  private env(now: number, pathVar: string): NodeJS.ProcessEnv {
    return {
      PATH: pathVar,
      HOME: '/root',
      LANG: 'C',
      INSTANCE_ROOT: this.root,
      FAKE_NOW: String(now),
      REAL_DATE: this.realDate,
      // The ready-made freeze's state directory, on the instance's tmpfs (its default /run/ppsb-fsfreeze, here in
      // the sandbox). A --state-dir on the command line would take precedence.
      PPSB_FREEZE_STATE_DIR: path.join(this.root, STATE_ROOT),
    };
  }

  /**
   * Runs an AWS-RunRemoteScript invocation: downloads the object of `sourceInfo.path` from the assets, runs the command
   * line, and returns how the invocation ends (exit 0: Success; else Failed with the exit code).
   */
  public runRemoteScript(inv: Pick<CommandInvocation, 'commandId' | 'parameters'>): ScriptBehaviour {
    const now = this.now();
    this.fireDueTimers(now);
    const source = JSON.parse(inv.parameters.sourceInfo?.[0] ?? '{}') as { path?: string };
    const key = decodeURIComponent(new URL(String(source.path)).pathname.split('/').pop() ?? '');
    const downloads = path.join(this.root, 'ssm', inv.commandId, 'downloads');
    fs.mkdirSync(downloads, { recursive: true });
    const asset = this.assetFile(key);
    if (!asset) {
      return { status: 'Failed', responseCode: 1, stdout: '', stderr: `downloadContent: ${source.path}: object not found in the assets`, inProgressPolls: 1 };
    }
    // aws:downloadContent saves the object under the key's last segment.
    fs.copyFileSync(asset, path.join(downloads, key));
    const commandLine = inv.parameters.commandLine?.[0] ?? '';
    const cwd = inv.parameters.workingDirectory?.[0] || downloads;
    // AWS-RunRemoteScript's runShellScript step (docs/fidelity/ready-made.md).
    const script = ['', 'directory=$(pwd)', 'export PATH=$PATH:$directory', ` ${commandLine} `, ''].join('\n');
    const r = spawnSync('sh', ['-c', script], {
      cwd,
      env: this.env(now, `${INSTANCE_BIN}:${SYSTEMD_PATH}`),
      encoding: 'utf8',
      timeout: RUN_LIMIT_MS,
    });
    const exitCode = r.status ?? -1;
    this.runs.push({ commandId: inv.commandId, commandLine, at: now, exitCode, stdout: r.stdout ?? '', stderr: r.stderr ?? '' });
    return {
      status: exitCode === 0 ? 'Success' : 'Failed',
      responseCode: exitCode,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      inProgressPolls: 1,
    };
  }

  /** The staged asset whose object key is `key` (`<hash>.<ext>`): cdk.out holds it as `asset.<hash>.<ext>`. */
  private assetFile(key: string): string | undefined {
    const candidates = [path.join(this.options.assetDir, `asset.${key}`), path.join(this.options.assetDir, `asset.${key.replace(/\.[^.]+$/, '')}`)];
    for (const c of candidates) {
      if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
      if (fs.existsSync(c) && fs.statSync(c).isDirectory()) {
        const files = fs.readdirSync(c);
        if (files.length === 1) return path.join(c, files[0]);
      }
    }
    return undefined;
  }

  /** Timers armed and not elapsed nor stopped. */
  public timers(): ArmedTimer[] {
    const dir = path.join(this.root, 'systemd');
    return fs.readdirSync(dir).filter((f) => f.endsWith('.timer')).map((f) => {
      const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n');
      const value = (k: string) => lines.filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1));
      return { unit: f.replace(/\.timer$/, ''), armedAt: Number(value('armed')[0]), dueAt: Number(value('due')[0]), command: value('arg') };
    }).sort((a, b) => a.dueAt - b.dueAt);
  }

  /** Timers stopped (disarmed) with systemctl stop, with the instance's clock when they were. */
  public disarmed(): Array<{ unit: string; at: number }> {
    return fs.readdirSync(path.join(this.root, 'systemd'))
      .map((f) => /^(.*)\.timer\.stopped-at-(\d+)$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ unit: m[1], at: Number(m[2]) }));
  }

  /**
   * Fires every timer due by `at` (default: the instance's clock now), soonest first: its command runs as systemd runs
   * a service (a clean environment, systemd's PATH; `date` still answers the instance's clock, at the due time).
   */
  public fireDueTimers(at = this.now()): FiredTimer[] {
    const out: FiredTimer[] = [];
    for (const timer of this.timers()) {
      if (timer.dueAt > at) break;
      fs.rmSync(path.join(this.root, 'systemd', `${timer.unit}.timer`));
      fs.appendFileSync(path.join(this.root, 'calls.log'), `elapsed ${timer.unit}.timer\n`);
      const [cmd, ...args] = timer.command;
      const r = spawnSync(cmd, args, { cwd: '/', env: this.env(timer.dueAt, `${INSTANCE_BIN}:${SYSTEMD_PATH}`), encoding: 'utf8', timeout: RUN_LIMIT_MS });
      const fired = { ...timer, firedAt: timer.dueAt, exitCode: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
      this.fired.push(fired);
      out.push(fired);
    }
    return out;
  }

  /** Mount points frozen now. */
  public frozen(): string[] {
    const names = new Set(fs.readdirSync(path.join(this.root, 'frozen')));
    return (this.options.mountPoints ?? []).filter((m) => names.has(m.replace(/\//g, '_')));
  }

  /** Every fsfreeze call, in order. */
  public freezeHistory(): FreezeEvent[] {
    return fs.readFileSync(path.join(this.root, 'fsfreeze.log'), 'utf8').split('\n').filter(Boolean).map((line) => {
      const [at, result, mountPoint] = line.split(' ');
      return { at: Number(at), result: result as FreezeEvent['result'], mountPoint };
    });
  }

  /** The calls of fsfreeze, systemd-run and systemctl, and the timers that elapsed (`elapsed <unit>.timer`), in order. */
  public calls(): string[] {
    return fs.readFileSync(path.join(this.root, 'calls.log'), 'utf8').split('\n').filter(Boolean);
  }

  /** What the ready-made freeze's safety thaw left for a run (`fired_at`, `thawed`...), if it fired and is not cleared. */
  public safetyThawMarker(runId: string): Record<string, string> | undefined {
    const file = path.join(this.root, STATE_ROOT, runId, 'safety-thaw-fired');
    if (!fs.existsSync(file)) return undefined;
    return Object.fromEntries(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  public dispose(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * The SSM stand-in's hook (fakes/ssm.ts, SendCommand): an invocation of AWS-RunRemoteScript delivered to an instance
 * with a shell runs there now, and ends as the script did.
 */
export function runOnInstanceShell(world: World, inv: CommandInvocation): void {
  const shell = InstanceShell.of(world, inv.instanceId);
  if (!shell || inv.agentAtSend !== 'Online' || inv.documentName !== 'AWS-RunRemoteScript' || inv.platform !== 'Linux') return;
  (inv as { behaviour: ScriptBehaviour }).behaviour = shell.runRemoteScript(inv);
}
