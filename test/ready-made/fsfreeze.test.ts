/**
 * The ready-made Linux filesystem freeze (ready-made/linux/fsfreeze-{pre,post}.sh), run for real with bash against
 * harmless targets: two small ext4 images loop-mounted in a temp directory. Nothing else on this machine is ever
 * frozen: every freezing run names these mount points, and default discovery only runs in dry-run mode.
 *
 * PID 1 here is not systemd, so the safety timer goes through stand-ins first on PATH (test/ready-made/fake-bin):
 * `systemd-run` / `systemctl` record their arguments and, with FAKE_SYSTEMD_EXEC=1, really run the timer's command
 * after its delay; `fsfreeze` records the call and runs the real tool. The real systemd tools are used to prove the
 * refusal when systemd is absent.
 */
import { spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO = path.join(__dirname, '..', '..');
const PRE = path.join(REPO, 'ready-made', 'linux', 'fsfreeze-pre.sh');
const POST = path.join(REPO, 'ready-made', 'linux', 'fsfreeze-post.sh');
const FAKE_BIN = path.join(__dirname, 'fake-bin');
/** The PATH systemd gives the SSM agent's service (systemd.exec "Environment variables in spawned processes"). */
const AGENT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function which(tool: string): string | undefined {
  const r = spawnSync('bash', ['-c', `PATH=${AGENT_PATH} command -v ${tool}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const REAL_FSFREEZE = which('fsfreeze');
const skipReason = (() => {
  if (process.getuid?.() !== 0) return 'not root';
  if (!fs.existsSync('/dev/loop-control')) return 'no loop device (/dev/loop-control)';
  for (const tool of ['fsfreeze', 'mkfs.ext4', 'mount', 'umount', 'findmnt', 'flock', 'losetup']) {
    if (!which(tool)) return `${tool} not installed`;
  }
  if (!fs.existsSync('/dev/shm') || spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', '/dev/shm'], { encoding: 'utf8' }).stdout.trim().split('\n').pop() !== 'tmpfs') {
    return 'no tmpfs at /dev/shm for the state directory';
  }
  return undefined;
})();
if (skipReason) {
  // eslint-disable-next-line no-console
  console.log(`test/ready-made/fsfreeze.test.ts skipped: ${skipReason}`);
}
const describeIfRoot = skipReason ? describe.skip : describe;

type Kv = Record<string, string[]>;
interface Run { status: number | null; stdout: string; stderr: string; kv: Kv; one(key: string): string | undefined }

function parse(r: SpawnSyncReturns<string>): Run {
  const kv: Kv = {};
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) (kv[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, kv, one: (k) => kv[k]?.[kv[k].length - 1] };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeIfRoot('ready-made Linux fsfreeze scripts', () => {
  let work: string;
  let stateRoot: string;
  let systemdDir: string;
  const mounts: string[] = [];
  let instance = 0;

  /** Environment for a run; the systemd stand-ins first on PATH unless `realSystemd`. */
  function env(extra: Record<string, string> = {}, realSystemd = false): NodeJS.ProcessEnv {
    return {
      PATH: realSystemd ? AGENT_PATH : `${FAKE_BIN}:${AGENT_PATH}`,
      HOME: '/root',
      LANG: 'C.UTF-8',
      FAKE_SYSTEMD_LOG: path.join(systemdDir, 'calls.log'),
      FAKE_SYSTEMD_DIR: systemdDir,
      REAL_FSFREEZE: REAL_FSFREEZE!,
      ...extra,
    };
  }

  /**
   * Runs a command line as AWS-RunRemoteScript runs it on Linux: the script downloaded alone into a directory
   * (aws:downloadContent), then the runShellScript step's lines `directory=$(pwd)`, `export PATH=$PATH:$directory`,
   * ` <commandLine> ` written to a script file the agent runs with sh, in that directory.
   */
  function ssmRun(script: string, commandLine: string, extraEnv: Record<string, string> = {}, realSystemd = false): Run {
    instance += 1;
    const orchestration = path.join(work, 'ssm', `i-0000000000000000${instance}`.slice(-19), 'document', 'orchestration', `cmd-${instance}`);
    const downloads = path.join(orchestration, 'downloads');
    fs.mkdirSync(downloads, { recursive: true });
    fs.copyFileSync(script, path.join(downloads, path.basename(script)));
    const runScript = path.join(orchestration, 'runShellScript', '_script.sh');
    fs.mkdirSync(path.dirname(runScript), { recursive: true });
    fs.writeFileSync(runScript, ['', 'directory=$(pwd)', 'export PATH=$PATH:$directory', ` ${commandLine} `, ''].join('\n'));
    return parse(spawnSync('sh', [runScript], { cwd: downloads, env: env(extraEnv, realSystemd), encoding: 'utf8', timeout: 20_000 }));
  }

  const pre = (args: string, extraEnv: Record<string, string> = {}, realSystemd = false) =>
    ssmRun(PRE, `bash fsfreeze-pre.sh --state-dir ${stateRoot} ${args}`, extraEnv, realSystemd);
  const post = (args = '', extraEnv: Record<string, string> = {}) =>
    ssmRun(POST, `bash fsfreeze-post.sh --state-dir ${stateRoot} ${args}`, extraEnv);

  /** Frozen, as the kernel says: freezing again answers EBUSY. When it was not frozen, thaw it back at once. */
  function isFrozen(mnt: string): boolean {
    const r = spawnSync(REAL_FSFREEZE!, ['-f', mnt], { encoding: 'utf8', env: { LC_ALL: 'C' } });
    if (r.status === 0) {
      spawnSync(REAL_FSFREEZE!, ['-u', mnt]);
      return false;
    }
    if (/Device or resource busy/.test(r.stderr)) return true;
    throw new Error(`cannot probe ${mnt}: ${r.stderr}`);
  }
  function thawQuietly(mnt: string): void {
    spawnSync(REAL_FSFREEZE!, ['-u', mnt]);
  }
  function calls(): string[] {
    const log = path.join(systemdDir, 'calls.log');
    return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
  }
  function stateDir(runId = 'default'): string {
    return path.join(stateRoot, runId);
  }

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ppsb-fsfreeze-'));
    stateRoot = fs.mkdtempSync('/dev/shm/ppsb-fsfreeze-state-');
    for (const name of ['data', 'logs']) {
      const image = path.join(work, `${name}.img`);
      const mnt = path.join(work, name);
      fs.writeFileSync(image, '');
      fs.truncateSync(image, 16 * 1024 * 1024);
      fs.mkdirSync(mnt);
      const mk = spawnSync('mkfs.ext4', ['-q', '-F', image], { encoding: 'utf8', env: { PATH: AGENT_PATH } });
      if (mk.status !== 0) throw new Error(`mkfs.ext4: ${mk.stderr}`);
      const m = spawnSync('mount', ['-o', 'loop', image, mnt], { encoding: 'utf8' });
      if (m.status !== 0) throw new Error(`mount -o loop: ${m.stderr}`);
      mounts.push(mnt);
    }
  });

  beforeEach(() => {
    systemdDir = fs.mkdtempSync(path.join(work, 'systemd-'));
    for (const mnt of mounts) thawQuietly(mnt);
    fs.rmSync(stateDir(), { recursive: true, force: true });
  });

  afterAll(() => {
    for (const mnt of mounts) {
      thawQuietly(mnt);
      spawnSync('umount', [mnt]);
    }
    // Safety-timer stand-ins still pending (a failed test): stop them.
    for (const dir of fs.existsSync(work ?? '') ? fs.readdirSync(work).filter((d) => d.startsWith('systemd-')) : []) {
      for (const f of fs.readdirSync(path.join(work, dir)).filter((x) => x.endsWith('.pid'))) {
        try { process.kill(-Number(fs.readFileSync(path.join(work, dir, f), 'utf8')), 'SIGKILL'); } catch { /* gone */ }
      }
    }
    if (work) fs.rmSync(work, { recursive: true, force: true });
    if (stateRoot) fs.rmSync(stateRoot, { recursive: true, force: true });
  });

  test('pre arms the safety timer before freezing, really freezes; post thaws, disarms, and writes go through', async () => {
    const [data, logs] = mounts;
    const r = pre(`--mount-points ${data},${logs} --safety-thaw-seconds 300`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.one('result')).toBe('frozen');
    expect(r.one('frozen')).toBe(`${data},${logs}`);
    const unit = r.one('safety_timer')!.replace(/^armed:/, '');
    expect(unit).toMatch(/^ppsb-fsfreeze-thaw-default-\d+-\d+$/);
    expect(r.one('safety_timer_seconds')).toBe('300');

    // Order: armed (and checked active) before the first freeze; the timer runs the thaw on the tmpfs with bash.
    const log = calls();
    const armAt = log.findIndex((l) => l.startsWith('systemd-run '));
    const firstFreeze = log.findIndex((l) => l.startsWith('fsfreeze -f'));
    expect(armAt).toBeGreaterThanOrEqual(0);
    expect(log.indexOf(`systemctl is-active ${unit}.timer`)).toBeGreaterThan(armAt);
    expect(firstFreeze).toBeGreaterThan(log.indexOf(`systemctl is-active ${unit}.timer`));
    expect(log[armAt]).toBe(`systemd-run --unit=${unit} --description=cdk-pre-post-script-backup safety thaw `
      + `--on-active=300s --timer-property=AccuracySec=1s ${which('bash')} ${stateDir()}/safety-thaw.sh`);
    expect(log.filter((l) => l.startsWith('fsfreeze -f'))).toEqual([`fsfreeze -f ${data}`, `fsfreeze -f ${logs}`]);
    expect(isFrozen(data)).toBe(true);
    expect(isFrozen(logs)).toBe(true);

    // A writer blocks on the frozen filesystem (it is not refused) until the post-script thaws it.
    const marker = path.join(work, 'writer-done');
    fs.rmSync(marker, { force: true });
    const writer = spawn('sh', ['-c', `echo x > ${data}/f && sync ${data}/f && touch ${marker}`], { stdio: 'ignore' });
    const writerExit = new Promise<number | null>((resolve) => writer.on('exit', resolve));
    await sleep(800);
    expect(fs.existsSync(marker)).toBe(false);

    const p = post();
    expect(p.status).toBe(0);
    expect(p.one('result')).toBe('thawed');
    expect(p.one('thawed')).toBe(`${data},${logs}`);
    expect(p.one('already_thawed')).toBe('');
    expect(p.one('safety_thaw_fired')).toBe('false');
    expect(p.one('safety_timer')).toBe(`disarmed:${unit}`);
    expect(calls()).toContain(`systemctl stop ${unit}.timer`);
    expect(await writerExit).toBe(0);
    expect(fs.existsSync(marker)).toBe(true);
    expect(fs.readFileSync(path.join(data, 'f'), 'utf8')).toBe('x\n');
    expect(isFrozen(data)).toBe(false);
    expect(isFrozen(logs)).toBe(false);
    expect(fs.existsSync(stateDir())).toBe(false);

    // Thaw twice is fine: nothing left to thaw.
    const again = post();
    expect(again.status).toBe(0);
    expect(again.one('result')).toBe('nothing-to-thaw');
    expect(again.one('safety_thaw_fired')).toBe('false');
  });

  test('post treats a filesystem already thawed (EINVAL) as success and reports it', () => {
    const [data, logs] = mounts;
    expect(pre(`--mount-points ${data},${logs}`).status).toBe(0);
    thawQuietly(logs); // someone thawed it by hand
    const p = post();
    expect(p.status).toBe(0);
    expect(p.one('thawed')).toBe(data);
    expect(p.one('already_thawed')).toBe(logs);
    expect(isFrozen(data)).toBe(false);
  });

  test('EBUSY: a filesystem frozen by someone else is refused and left frozen; what pre froze is thawed, the timer disarmed', () => {
    const [data, logs] = mounts;
    expect(spawnSync(REAL_FSFREEZE!, ['-f', logs]).status).toBe(0); // another tool's freeze
    try {
      const r = pre(`--mount-points ${data},${logs}`);
      expect(r.status).toBe(204);
      expect(r.one('result')).toBe('failed');
      expect(r.one('already_frozen')).toBe(logs);
      expect(r.one('error')).toMatch(/already frozen by another tool \(EBUSY\)/);
      expect(r.one('thawed')).toBe(data);
      const unit = r.one('safety_timer')!.replace(/^disarmed:/, '');
      expect(calls()).toContain(`systemctl stop ${unit}.timer`);
      expect(isFrozen(data)).toBe(false);
      expect(isFrozen(logs)).toBe(true);
      expect(fs.existsSync(stateDir())).toBe(false);

      // The workflow runs the post-script after a failed pre-script (invariant 2): it must not thaw the other's freeze.
      const p = post();
      expect(p.status).toBe(0);
      expect(p.one('result')).toBe('nothing-to-thaw');
      expect(isFrozen(logs)).toBe(true);
    } finally {
      thawQuietly(logs);
    }
  });

  test('run stopped mid-freeze: with no post-script the timer thaws by itself within its delay; the next post reports it', async () => {
    const [data] = mounts;
    const r = pre(`--mount-points ${data} --safety-thaw-seconds 3`, { FAKE_SYSTEMD_EXEC: '1' });
    expect(r.status).toBe(0);
    expect(isFrozen(data)).toBe(true);
    const started = Date.now();
    const fired = path.join(stateDir(), 'safety-thaw-fired');
    while (!fs.existsSync(fired) && Date.now() - started < 15_000) await sleep(100);
    expect(fs.existsSync(fired)).toBe(true);
    // Within the delay (3 s from arming), with room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(isFrozen(data)).toBe(false);
    expect(fs.readFileSync(fired, 'utf8')).toContain(`thawed=${data}\n`);
    expect(calls()).toContain(`fsfreeze -u ${data}`);

    const p = post();
    expect(p.status).toBe(0);
    expect(p.one('safety_thaw_fired')).toBe('true');
    expect(p.one('safety_thaw_at')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(p.one('already_thawed')).toBe(data);
    expect(p.one('result')).toBe('thawed-after-safety-thaw');
    expect(p.one('safety_timer')).toMatch(/^gone:/);
    expect(fs.existsSync(stateDir())).toBe(false);
  });

  test('after a safety thaw with no post-script, the next pre clears the stale state; --fail-if-safety-thaw-fired exits 203', async () => {
    const [data] = mounts;
    // Delays of 3 s: a freeze that outlasts its delay is undone by the pre-script (201), and a loaded machine can
    // take more than a second to freeze.
    expect(pre(`--mount-points ${data} --safety-thaw-seconds 3`, { FAKE_SYSTEMD_EXEC: '1' }).status).toBe(0);
    const fired = path.join(stateDir(), 'safety-thaw-fired');
    let started = Date.now();
    while (!fs.existsSync(fired) && Date.now() - started < 15_000) await sleep(100);
    expect(fs.existsSync(fired)).toBe(true);

    const next = pre(`--mount-points ${data} --safety-thaw-seconds 3`, { FAKE_SYSTEMD_EXEC: '1' });
    expect(next.status).toBe(0);
    expect(next.one('stale_state')).toMatch(/^cleared:safety-thaw-fired-at:/);
    // Its own timer fires too; the post-script asked to fail on it says so with 203, after thawing.
    started = Date.now();
    while (!fs.existsSync(fired) && Date.now() - started < 15_000) await sleep(100);
    const p = post('--fail-if-safety-thaw-fired');
    expect(p.one('safety_thaw_fired')).toBe('true');
    expect(p.status).toBe(203);
    expect(isFrozen(data)).toBe(false);
  });

  test('a second pre while this script\'s freeze is in force is refused (204) and touches nothing', () => {
    const [data] = mounts;
    const first = pre(`--mount-points ${data}`);
    expect(first.status).toBe(0);
    const before = calls().length;
    const second = pre(`--mount-points ${data}`);
    expect(second.status).toBe(204);
    expect(second.one('error')).toMatch(/still in force/);
    expect(calls().slice(before).filter((l) => !l.startsWith('systemctl show'))).toEqual([]);
    expect(isFrozen(data)).toBe(true);
    expect(post().one('thawed')).toBe(data);
  });

  test('SSM cancels the pre-script during a freeze (SIGTERM): everything it froze or was freezing is thawed, the timer disarmed', async () => {
    const [data, logs] = mounts;
    const child = spawn('bash', [PRE, '--state-dir', stateRoot, '--mount-points', `${data},${logs}`], {
      env: env({ FAKE_FSFREEZE_SLOW_ON: logs, FAKE_FSFREEZE_SLOW_SECONDS: '1' }), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const started = Date.now();
    while (!calls().includes(`fsfreeze -f ${logs}`) && Date.now() - started < 5_000) await sleep(50);
    expect(calls()).toContain(`fsfreeze -f ${logs}`);
    child.kill('SIGTERM'); // while fsfreeze -f of the second mount point runs: it completes, then the trap undoes
    expect(await exit).toBe(201);
    const kv = parse({ stdout, stderr: '', status: 201 } as SpawnSyncReturns<string>);
    expect(kv.one('thawed')).toBe(`${data},${logs}`);
    expect(kv.one('safety_timer')).toMatch(/^disarmed:/);
    expect(isFrozen(data)).toBe(false);
    expect(isFrozen(logs)).toBe(false);
    expect(fs.existsSync(stateDir())).toBe(false);
  });

  test('a freeze slower than the safety-thaw delay is undone by the pre-script itself (201)', async () => {
    const [data, logs] = mounts;
    // 4 s, not 1: on a loaded machine the script may take over a second from arming the timer to its first freeze,
    // and would then (rightly) freeze nothing; the second mount point's freeze (6 s) outlasts the delay.
    const r = pre(`--mount-points ${data},${logs} --safety-thaw-seconds 4`,
      { FAKE_SYSTEMD_EXEC: '1', FAKE_FSFREEZE_SLOW_ON: logs, FAKE_FSFREEZE_SLOW_SECONDS: '6' });
    expect(r.status).toBe(201);
    expect(r.one('error')).toMatch(/took longer than the safety-thaw delay/);
    expect(r.one('thawed')).toBe(`${data},${logs}`);
    expect(isFrozen(data)).toBe(false);
    expect(isFrozen(logs)).toBe(false);
    expect(fs.existsSync(stateDir())).toBe(false);
  });

  test('a systemd that refuses --timer-property: armed again without it, and the accuracy says so', () => {
    const [data] = mounts;
    const r = pre(`--mount-points ${data}`, { FAKE_SYSTEMD_NO_TIMER_PROPERTY: '1' });
    expect(r.status).toBe(0);
    expect(r.one('safety_timer_accuracy')).toBe('default');
    const unit = r.one('safety_timer')!.replace(/^armed:/, '');
    expect(unit).toMatch(/-b$/);
    expect(fs.readFileSync(path.join(stateDir(), 'safety-thaw.sh'), 'utf8')).toContain(`\nunit=${unit}\n`);
    const p = post();
    expect(p.one('safety_timer')).toBe(`disarmed:${unit}`);
    expect(isFrozen(data)).toBe(false);
  });

  test('run ids keep runs apart: a second run on the same mount point is refused (EBUSY) and its post leaves the first frozen', () => {
    const [data] = mounts;
    const longId = `arn:aws:states:eu-west-1:123456789012:execution:Backup:${'x'.repeat(80)}`;
    const first = pre(`--mount-points ${data} --run-id ${longId}`);
    expect(first.status).toBe(0);
    expect(first.one('state_dir')).toMatch(new RegExp(`^${stateRoot}/arn-aws-states-eu-west-1-1234567-\\d+$`));
    const second = pre(`--mount-points ${data} --run-id other`);
    expect(second.status).toBe(204);
    expect(post('--run-id other').one('result')).toBe('nothing-to-thaw');
    expect(isFrozen(data)).toBe(true);
    const p = post(`--run-id ${longId}`);
    expect(p.one('thawed')).toBe(data);
    expect(isFrozen(data)).toBe(false);
  });

  test('no systemd as PID 1 (the real systemctl here): refuses loudly, freezes nothing', () => {
    const [data] = mounts;
    const r = pre(`--mount-points ${data}`, {}, true);
    expect(r.status).toBe(206);
    expect(r.one('result')).toBe('refused');
    expect(r.one('error')).toMatch(/no safety timer can be armed, refusing to freeze/);
    expect(r.stderr).toMatch(/ERROR: systemd is not running as PID 1/);
    expect(isFrozen(data)).toBe(false);
    expect(fs.existsSync(stateDir())).toBe(false);
  });

  test('a safety timer that cannot be armed: refused, nothing frozen', () => {
    const [data] = mounts;
    const r = pre(`--mount-points ${data}`, { FAKE_SYSTEMD_FAIL: '1' });
    expect(r.status).toBe(206);
    expect(r.one('error')).toMatch(/could not arm the safety timer: .*Access denied/);
    expect(calls().some((l) => l.startsWith('fsfreeze'))).toBe(false);
    expect(isFrozen(data)).toBe(false);
    expect(fs.existsSync(stateDir())).toBe(false);
  });

  test('refuses /, a directory that is not a mount point, and a state directory off tmpfs, before touching anything', () => {
    const root = pre('--mount-points /');
    expect(root.status).toBe(206);
    expect(root.one('error')).toBe('refusing to freeze /: root');
    const notMount = pre(`--mount-points ${work}`);
    expect(notMount.status).toBe(206);
    expect(notMount.one('error')).toBe(`'${work}' is not a mount point`);
    const offTmpfs = ssmRun(PRE, `bash fsfreeze-pre.sh --state-dir ${work}/state --mount-points ${mounts[0]}`);
    expect(offTmpfs.status).toBe(206);
    expect(offTmpfs.one('error')).toMatch(/not on a tmpfs/);
    const usage = pre('--safety-thaw-seconds 0');
    expect(usage.status).toBe(64);
    expect(calls().some((l) => l.startsWith('systemd-run') || l.startsWith('fsfreeze'))).toBe(false);
  });

  test('dry-run (DLM\'s word too): discovers the loop mounts, skips /, arms and freezes nothing', () => {
    for (const word of ['--dry-run', 'dry-run']) {
      const r = pre(word);
      expect(r.status).toBe(0);
      expect(r.one('result')).toBe('dry-run-ok');
      expect(r.one('mount_points_from')).toBe('discovery');
      const candidates = r.one('candidates')!.split(',');
      expect(candidates).toEqual(expect.arrayContaining(mounts));
      expect(candidates).not.toContain('/');
      const rootFsType = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '--mountpoint', '/'], { encoding: 'utf8' }).stdout.trim();
      if (['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'f2fs'].includes(rootFsType)) {
        expect(r.kv.skipped).toContain('/:root');
      }
    }
    expect(calls().filter((l) => !l.startsWith('systemctl show'))).toEqual([]);
    for (const mnt of mounts) expect(isFrozen(mnt)).toBe(false);
    expect(fs.existsSync(stateDir())).toBe(false);
    const p = post('dry-run');
    expect(p.status).toBe(0);
    expect(p.one('result')).toBe('dry-run-ok');
  });

  test('shellcheck passes on both scripts and on the safety-thaw script the pre-script writes', () => {
    const shellcheck = which('shellcheck');
    if (!shellcheck) {
      // eslint-disable-next-line no-console
      console.log('shellcheck not installed: skipped');
      return;
    }
    expect(pre(`--mount-points ${mounts[0]}`).status).toBe(0);
    const helper = path.join(stateDir(), 'safety-thaw.sh');
    const r = spawnSync(shellcheck, [PRE, POST, helper], { encoding: 'utf8' });
    expect(post().status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });
});
