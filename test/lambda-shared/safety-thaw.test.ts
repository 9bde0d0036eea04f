import { safetyThawFiredIn, safetyThawReport } from '../../src/lambda-shared/safety-thaw';

const POST_OUTPUT = [
  'script=fsfreeze-post', 'version=1', 'mode=thaw', 'run_id=nightly', 'state=present', 'listed=/data',
  'safety_thaw_fired=true', 'safety_thaw_at=2026-12-03T02:40:00Z', 'thawed=', 'already_thawed=/data', 'result=thawed-after-safety-thaw',
].join('\n');

describe('the safety-thaw report of a post-script (issue 15)', () => {
  test('reads safety_thaw_fired=true|false from stdout', () => {
    expect(safetyThawFiredIn(POST_OUTPUT)).toBe(true);
    expect(safetyThawFiredIn(POST_OUTPUT.replace('safety_thaw_fired=true', 'safety_thaw_fired=false'))).toBe(false);
    expect(safetyThawFiredIn('result=thawed\n')).toBeUndefined();
    expect(safetyThawFiredIn(undefined)).toBeUndefined();
  });

  test('ignores stderr (after the agent\'s separator), other values and look-alike keys', () => {
    expect(safetyThawFiredIn('result=failed\n----------ERROR-------\nsafety_thaw_fired=true')).toBeUndefined();
    expect(safetyThawFiredIn('safety_thaw_fired=maybe\nxsafety_thaw_fired=true')).toBeUndefined();
    expect(safetyThawFiredIn('safety_thaw_fired=false\r\nsafety_thaw_fired=true\r\n')).toBe(true);
  });

  test('reads the steps that ran, not those skipped by their platform precondition', () => {
    expect(safetyThawReport({
      CommandPlugins: [
        { Name: 'downloadContent', Output: 'Content downloaded to /var/lib/amazon/ssm/...' },
        { Name: 'runPowerShellScript', Output: "Step execution skipped due to unsatisfied preconditions: 'safety_thaw_fired=true'" },
        { Name: 'runShellScript', Output: POST_OUTPUT.replace('=true', '=false') },
      ],
    })).toEqual({ safetyThawFired: false });
    expect(safetyThawReport({ CommandPlugins: [{ Name: 'runShellScript', Output: 'pre script done' }] })).toEqual({});
    expect(safetyThawReport(undefined)).toEqual({});
  });
});
