import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InstanceShell } from './fakes/instance-shell';
import { World } from './world';

/**
 * The instance stand-in (fakes/instance-shell.ts, ledger docs/fidelity/ready-made.md) refuses what an instance would:
 * a command line naming a file other than the downloaded one, a second freeze (EBUSY), a thaw of a thawed filesystem
 * (EINVAL), stopping a timer that already elapsed ("not loaded").
 */
describe('InstanceShell', () => {
  const assetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shell-assets-'));
  const KEY = `${'a'.repeat(64)}.sh`;
  fs.writeFileSync(path.join(assetDir, `asset.${KEY}`), [
    '#!/usr/bin/env bash',
    'echo "args=$*"; echo "whoami=$(id -u)"; echo "now=$(date -u +%s)"',
    'case "$1" in',
    '  freeze) fsfreeze -f /data ;;',
    '  thaw) fsfreeze -u /data ;;',
    '  arm) systemd-run --unit=t1 --on-active=60s /bin/bash -c "fsfreeze -u /data" ;;',
    '  stop) systemctl stop t1.timer ;;',
    'esac',
  ].join('\n'));
  const world = new World();
  const shell = InstanceShell.attach(world, 'i-1', { assetDir, mountPoints: ['/data'] });
  afterAll(() => {
    shell.dispose();
    fs.rmSync(assetDir, { recursive: true, force: true });
  });
  const run = (commandLine: string) => shell.runRemoteScript({
    commandId: `cmd-${commandLine.length}-${Math.random()}`,
    parameters: { sourceInfo: [JSON.stringify({ path: `https://s3.eu-west-1.amazonaws.com/assets/${KEY}` })], commandLine: [commandLine] },
  });

  test('the downloaded file is named after the object key: a command line naming another file fails as on an instance', () => {
    const ok = run(`bash ${KEY} hello`);
    expect(ok).toMatchObject({ status: 'Success', responseCode: 0 });
    expect(ok.stdout).toContain('args=hello');
    expect(ok.stdout).toContain('whoami=0');
    expect(ok.stdout).toContain(`now=${shell.now()}`); // the instance's clock is the simulator's
    expect(run('bash freeze.sh')).toMatchObject({ status: 'Failed', responseCode: 127 });
  });

  test('fsfreeze answers EBUSY on a second freeze and EINVAL on a thaw of a thawed filesystem', () => {
    expect(run(`bash ${KEY} freeze`).status).toBe('Success');
    expect(shell.frozen()).toEqual(['/data']);
    const again = run(`bash ${KEY} freeze`);
    expect(again).toMatchObject({ status: 'Failed', responseCode: 1 });
    expect(again.stderr).toContain('fsfreeze: /data: freeze failed: Device or resource busy');
    expect(run(`bash ${KEY} thaw`).status).toBe('Success');
    expect(run(`bash ${KEY} thaw`).stderr).toContain('fsfreeze: /data: unfreeze failed: Invalid argument');
  });

  test('a timer fires when the instance\'s clock reaches its due time, not before; once elapsed, stopping it says "not loaded"', () => {
    run(`bash ${KEY} freeze`);
    expect(run(`bash ${KEY} arm`).status).toBe('Success');
    const [timer] = shell.timers();
    expect(timer.dueAt - timer.armedAt).toBe(60);
    world.clock.advance('i-1', 59);
    expect(shell.fireDueTimers()).toEqual([]);
    world.clock.advance('i-1', 1);
    expect(shell.fireDueTimers()).toMatchObject([{ unit: 't1', exitCode: 0, firedAt: timer.dueAt }]);
    expect(shell.frozen()).toEqual([]);
    const stop = run(`bash ${KEY} stop`);
    expect(stop).toMatchObject({ status: 'Failed', responseCode: 5 });
    expect(stop.stderr).toContain('Unit t1.timer not loaded.');
  });
});
