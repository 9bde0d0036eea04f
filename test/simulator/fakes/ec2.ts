/**
 * EC2 over the query protocol: form-encoded POST, XML answers in the EC2 namespace.
 * DescribeInstances, StopInstances, StartInstances.
 */
import { FakeHandler, FakeRequest, FakeResponse, xmlEscape } from './http';
import { allImages, allSnapshots, findImage, findSnapshot, ImageView, instancesOfRecoveryIds, SnapshotView } from './recovery-points';
import { checkThrottle } from './throttling';
import { ACCOUNT_ID, ApiCall, BackupJob, EC2_STATE_CODES, Ec2StateName, FakeApiError, Instance, REGION, World } from '../world';

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

interface Filter { readonly name: string; readonly values: string[] }

/** Lists like `InstanceId.1`, `InstanceId.2`. */
function list(params: URLSearchParams, prefix: string): string[] {
  const out: Array<[number, string]> = [];
  for (const [k, v] of params) {
    const m = new RegExp(`^${prefix.replace('.', '\\.')}\\.(\\d+)$`).exec(k);
    if (m) out.push([Number(m[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

function filters(params: URLSearchParams): Filter[] {
  const byIndex = new Map<number, { name?: string; values: Array<[number, string]> }>();
  for (const [k, v] of params) {
    const m = /^Filter\.(\d+)\.(Name|Value\.(\d+))$/.exec(k);
    if (!m) continue;
    const i = Number(m[1]);
    let f = byIndex.get(i);
    if (!f) byIndex.set(i, f = { values: [] });
    if (m[2] === 'Name') f.name = v;
    else f.values.push([Number(m[3]), v]);
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => ({
    name: f.name ?? '',
    values: f.values.sort((a, b) => a[0] - b[0]).map(([, v]) => v),
  }));
}

function wildcard(pattern: string, value: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === value;
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(value);
}

const SUPPORTED_FILTERS = /^(tag:.+|tag-key|instance-state-name|instance-state-code|instance-id|platform|reservation-id)$/;

/** Filters that do not depend on the (advancing) state. */
function matchesStatic(inst: Instance, fs: Filter[]): boolean {
  for (const f of fs) {
    if (f.name.startsWith('tag:')) {
      const v = inst.tags[f.name.slice(4)];
      if (v === undefined || !f.values.some((p) => wildcard(p, v))) return false;
    } else if (f.name === 'tag-key') {
      if (!Object.keys(inst.tags).some((k) => f.values.some((p) => wildcard(p, k)))) return false;
    } else if (f.name === 'instance-id') {
      if (!f.values.some((p) => wildcard(p, inst.id))) return false;
    } else if (f.name === 'platform') {
      if (inst.platform !== 'Windows' || !f.values.includes('windows')) return false;
    } else if (f.name === 'reservation-id') {
      if (!f.values.includes(inst.reservationId)) return false;
    }
  }
  return true;
}

function matchesState(state: Ec2StateName, fs: Filter[]): boolean {
  for (const f of fs) {
    if (f.name === 'instance-state-name' && !f.values.some((p) => wildcard(p, state))) return false;
    if (f.name === 'instance-state-code' && !f.values.includes(String(EC2_STATE_CODES[state]))) return false;
  }
  return true;
}

function stateXml(tag: string, state: Ec2StateName): string {
  return `<${tag}><code>${EC2_STATE_CODES[state]}</code><name>${state}</name></${tag}>`;
}

function instanceXml(inst: Instance, state: Ec2StateName): string {
  const tags = Object.entries(inst.tags)
    .map(([k, v]) => `<item><key>${xmlEscape(k)}</key><value>${xmlEscape(v)}</value></item>`).join('');
  return '<item>'
    + `<instanceId>${inst.id}</instanceId>`
    + '<imageId>ami-0123456789abcdef0</imageId>'
    + stateXml('instanceState', state)
    + '<instanceType>t3.micro</instanceType>'
    + `<placement><availabilityZone>${REGION}a</availabilityZone><tenancy>default</tenancy></placement>`
    + (inst.platform === 'Windows' ? '<platform>windows</platform>' : '')
    + `<platformDetails>${inst.platform === 'Windows' ? 'Windows' : 'Linux/UNIX'}</platformDetails>`
    + `<launchTime>${inst.launchTime.toISOString()}</launchTime>`
    + '<rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName>'
    + `<blockDeviceMapping>${inst.volumes.map((v) => `<item><deviceName>${v.deviceName}</deviceName><ebs><volumeId>${v.volumeId}</volumeId>`
      + `<status>attached</status><attachTime>${inst.launchTime.toISOString()}</attachTime><deleteOnTermination>${v.deviceName === '/dev/xvda'}</deleteOnTermination>`
      + '</ebs></item>').join('')}</blockDeviceMapping>`
    + `<tagSet>${tags}</tagSet>`
    + '</item>';
}

export function ec2ErrorResponse(code: string, message: string, status: number): FakeResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml;charset=UTF-8' },
    body: '<?xml version="1.0" encoding="UTF-8"?>\n'
      + `<Response><Errors><Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error></Errors>`
      + `<RequestID>${requestId()}</RequestID></Response>`,
  };
}

let reqCounter = 0;
function requestId(): string {
  reqCounter++;
  return `00000000-0000-4000-8000-${reqCounter.toString(16).padStart(12, '0')}`;
}

function ok(action: string, inner: string): FakeResponse {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml;charset=UTF-8' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NS}"><requestId>${requestId()}</requestId>${inner}</${action}Response>`,
  };
}

function lookup(world: World, ids: string[]): Instance[] {
  return ids.map((id) => {
    if (!/^i-[0-9a-zA-Z]+$/.test(id)) {
      throw new FakeApiError({ code: 'InvalidInstanceID.Malformed', message: `Invalid id: "${id}"` });
    }
    const inst = world.instances.get(id);
    if (!inst) {
      throw new FakeApiError({ code: 'InvalidInstanceID.NotFound', message: `The instance ID '${id}' does not exist` });
    }
    return inst;
  });
}

function describeInstances(world: World, params: URLSearchParams, ids: string[]): FakeResponse {
  const fs = filters(params);
  for (const f of fs) {
    if (!SUPPORTED_FILTERS.test(f.name)) {
      throw new FakeApiError({ code: 'InvalidParameterValue', message: `The filter '${f.name}' is invalid (not supported by the fake)` });
    }
  }
  const maxResultsRaw = params.get('MaxResults');
  if (maxResultsRaw !== null && ids.length > 0) {
    throw new FakeApiError({
      code: 'InvalidParameterCombination',
      message: 'The parameter instancesSet cannot be used with the parameter maxResults',
    });
  }
  const maxResults = maxResultsRaw === null ? Infinity : Number(maxResultsRaw);
  if (maxResultsRaw !== null && !(maxResults >= 5 && maxResults <= 1000)) {
    throw new FakeApiError({
      code: 'InvalidParameterValue',
      message: `Value ( ${maxResultsRaw} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
    });
  }
  let start = 0;
  const token = params.get('NextToken');
  if (token) {
    const m = /^pos:(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    if (!m) throw new FakeApiError({ code: 'InvalidParameterValue', message: 'Invalid value for NextToken' });
    start = Number(m[1]);
  }
  // Exact instance-id filter values narrow the scan (no O(fleet) scan for a per-instance describe).
  const idFilter = fs.find((f) => f.name === 'instance-id' && f.values.every((v) => !/[*?]/.test(v)));
  const candidates = ids.length > 0 ? lookup(world, [...new Set(ids)])
    : idFilter ? [...new Set(idFilter.values)].map((v) => world.instances.get(v)).filter((i): i is Instance => i !== undefined)
      : world.instanceList;
  const found: Array<[Instance, Ec2StateName]> = [];
  let pos = start;
  for (; pos < candidates.length && found.length < maxResults; pos++) {
    const inst = candidates[pos];
    if (!matchesStatic(inst, fs)) continue;
    const state = world.observeInstance(inst);
    if (matchesState(state, fs)) found.push([inst, state]);
  }
  // Group consecutive instances of one reservation.
  let reservations = '';
  for (let i = 0; i < found.length;) {
    const rid = found[i][0].reservationId;
    let items = '';
    for (; i < found.length && found[i][0].reservationId === rid; i++) items += instanceXml(found[i][0], found[i][1]);
    reservations += `<item><reservationId>${rid}</reservationId><ownerId>${ACCOUNT_ID}</ownerId><groupSet/><instancesSet>${items}</instancesSet></item>`;
  }
  const next = pos < candidates.length ? `<nextToken>${Buffer.from(`pos:${pos}`).toString('base64')}</nextToken>` : '';
  return ok('DescribeInstances', `<reservationSet>${reservations}</reservationSet>${next}`);
}

function changeState(world: World, action: 'StopInstances' | 'StartInstances', ids: string[], dryRun = false): FakeResponse {
  if (ids.length === 0) {
    throw new FakeApiError({ code: 'MissingParameter', message: 'The request must contain the parameter InstanceId' });
  }
  if (dryRun) {
    // Issue 15 (docs/fidelity/ec2.md, "DryRun"): permissions only, then DryRunOperation; nothing changes.
    for (const inst of lookup(world, ids)) world.dryRunPowerChange(inst, action);
    throw new FakeApiError({ code: 'DryRunOperation', message: 'Request would have succeeded, but DryRun flag is set.', httpStatus: 412 });
  }
  const items = lookup(world, ids).map((inst) => {
    const r = action === 'StopInstances' ? world.stopInstance(inst) : world.startInstance(inst);
    return `<item><instanceId>${inst.id}</instanceId>${stateXml('currentState', r.current)}${stateXml('previousState', r.previous)}</item>`;
  });
  return ok(action, `<instancesSet>${items.join('')}</instancesSet>`);
}

const BACKUP_DESCRIPTION = 'This snapshot is created by the AWS Backup service.';

function imageXml(img: ImageView): string {
  const maps = img.mappings.map((m) => `<item><deviceName>${m.deviceName}</deviceName><ebs>`
    + (m.snapshotId ? `<snapshotId>${m.snapshotId}</snapshotId>` : '')
    + `<volumeSize>${m.volumeSizeGiB}</volumeSize><deleteOnTermination>true</deleteOnTermination><volumeType>gp3</volumeType><encrypted>false</encrypted>`
    + '</ebs></item>').join('');
  return '<item>'
    + `<imageId>${img.imageId}</imageId>`
    + `<imageLocation>${ACCOUNT_ID}/AwsBackup_${img.instanceId}_${img.backupJobId}</imageLocation>`
    + `<imageState>${img.state}</imageState>`
    + `<imageOwnerId>${ACCOUNT_ID}</imageOwnerId>`
    + `<creationDate>${img.creationDate.toISOString()}</creationDate>`
    + '<isPublic>false</isPublic><architecture>x86_64</architecture><imageType>machine</imageType>'
    + `<name>AwsBackup_${img.instanceId}_${img.backupJobId}</name>`
    + '<description>This image is created by the AWS Backup service.</description>'
    + '<rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName>'
    + `<blockDeviceMapping>${maps}</blockDeviceMapping>`
    + '<virtualizationType>hvm</virtualizationType><hypervisor>xen</hypervisor>'
    + `<tagSet><item><key>aws:backup:source-resource</key><value>${img.instanceId}</value></item></tagSet>`
    + '</item>';
}

function snapshotXml(s: SnapshotView): string {
  return '<item>'
    + `<snapshotId>${s.snapshotId}</snapshotId><volumeId>${s.volumeId}</volumeId><status>${s.state}</status>`
    + `<startTime>${s.startTime.toISOString()}</startTime><progress>${s.progress}</progress>`
    + (s.completionTime ? `<completionTime>${s.completionTime.toISOString()}</completionTime>` : '')
    + `<ownerId>${ACCOUNT_ID}</ownerId><volumeSize>${s.volumeSizeGiB}</volumeSize><description>${BACKUP_DESCRIPTION}</description>`
    + '<encrypted>false</encrypted><storageTier>standard</storageTier>'
    + `<tagSet><item><key>aws:backup:source-resource</key><value>${s.instanceId}</value></item></tagSet>`
    + '</item>';
}

const IMAGE_FILTERS = /^(image-id|state|tag-key|tag:.+)$/;
const SNAPSHOT_FILTERS = /^(snapshot-id|volume-id|status|owner-id|tag-key|tag:.+)$/;

function matchesTags(tags: Record<string, string>, f: Filter): boolean | undefined {
  if (f.name === 'tag-key') return Object.keys(tags).some((k) => f.values.some((p) => wildcard(p, k)));
  if (f.name.startsWith('tag:')) {
    const v = tags[f.name.slice(4)];
    return v !== undefined && f.values.some((p) => wildcard(p, v));
  }
  return undefined;
}

/** DescribeImages by ImageIds (InvalidAMIID.NotFound for one that does not exist or is not visible yet) and filters. */
function describeImages(world: World, params: URLSearchParams): FakeResponse {
  const fs = filters(params);
  for (const f of fs) {
    if (!IMAGE_FILTERS.test(f.name)) throw new FakeApiError({ code: 'InvalidParameterValue', message: `The filter '${f.name}' is invalid (not supported by the fake)` });
  }
  const ids = list(params, 'ImageId');
  let images: ImageView[];
  if (ids.length > 0) {
    for (const id of ids) {
      if (!/^ami-[0-9a-f]{8,17}$/.test(id)) throw new FakeApiError({ code: 'InvalidAMIID.Malformed', message: `Invalid id: "${id}" (expecting "ami-...")` });
    }
    const found = ids.map((id) => [id, findImage(world, id, true)] as const);
    const missing = found.filter(([, img]) => !img).map(([id]) => id);
    if (missing.length > 0) {
      throw new FakeApiError({ code: 'InvalidAMIID.NotFound', message: `The image id '[${missing.join(', ')}]' does not exist` });
    }
    images = found.map(([, img]) => img!);
  } else {
    images = allImages(world);
  }
  images = images.filter((img) => fs.every((f) => {
    const tag = matchesTags({ 'aws:backup:source-resource': img.instanceId }, f);
    if (tag !== undefined) return tag;
    if (f.name === 'image-id') return f.values.some((p) => wildcard(p, img.imageId));
    if (f.name === 'state') return f.values.includes(img.state);
    return true;
  }));
  return ok('DescribeImages', `<imagesSet>${images.map(imageXml).join('')}</imagesSet>`);
}

/** EC2's limit on the values of one filter (docs/fidelity/ec2.md: FilterLimitExceeded; the docs give no figure, 200 is the field's). */
export const FILTER_VALUES_LIMIT = 200;

/** Count mode: the filtered listings each new snapshot has been left out of (eventual consistency). */
const snapshotLagCallsUsed = new WeakMap<World, Map<string, number>>();

/**
 * Whether a filtered listing shows this snapshot yet (EC2's eventual consistency: docs/fidelity/ec2.md): time mode,
 * `snapshotLagSeconds` after it started on its instance's clock; count mode, after `snapshotLagCalls` listings.
 */
function listedYet(world: World, s: SnapshotView): boolean {
  if (world.timed) {
    const startedAt = (s.startTime.getTime() - world.clock.origin) / 1000;
    return world.now(s.instanceId) >= startedAt + world.options.snapshotLagSeconds;
  }
  let used = snapshotLagCallsUsed.get(world);
  if (!used) snapshotLagCallsUsed.set(world, used = new Map());
  const n = used.get(s.snapshotId) ?? 0;
  if (n < world.options.snapshotLagCalls) {
    used.set(s.snapshotId, n + 1);
    return false;
  }
  return true;
}

/**
 * DescribeSnapshots by SnapshotIds (InvalidSnapshot.NotFound for one that does not exist) and filters; `Owner.N`
 * (`self`, the account id; `amazon` owns none of these); `MaxResults` (5 to 1,000, not with SnapshotIds) and
 * `NextToken` pages of at most min(MaxResults, `snapshotPageSize`); a filter with more than 200 values answers
 * FilterLimitExceeded; a listing (no ids) leaves out snapshots too new to be listed (eventual consistency).
 */
function describeSnapshots(world: World, params: URLSearchParams, call?: ApiCall): FakeResponse {
  const fs = filters(params);
  for (const f of fs) {
    if (!SNAPSHOT_FILTERS.test(f.name)) throw new FakeApiError({ code: 'InvalidParameterValue', message: `The filter '${f.name}' is invalid (not supported by the fake)` });
    if (f.values.length > FILTER_VALUES_LIMIT) {
      throw new FakeApiError({ code: 'FilterLimitExceeded', message: `The maximum number of filter values specified on a single call is ${FILTER_VALUES_LIMIT}` });
    }
  }
  const owners = list(params, 'Owner');
  const ids = list(params, 'SnapshotId');
  const maxResultsRaw = params.get('MaxResults');
  if (maxResultsRaw !== null && ids.length > 0) {
    throw new FakeApiError({ code: 'InvalidParameterCombination', message: 'The parameter snapshotSet cannot be used with the parameter maxResults' });
  }
  const maxResults = maxResultsRaw === null ? Infinity : Number(maxResultsRaw);
  if (maxResultsRaw !== null && !(maxResults >= 5 && maxResults <= 1000)) {
    throw new FakeApiError({ code: 'InvalidParameterValue', message: `Value ( ${maxResultsRaw} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.` });
  }
  let snaps: SnapshotView[];
  if (ids.length > 0) {
    for (const id of ids) {
      if (!/^snap-[0-9a-f]{8,17}$/.test(id)) throw new FakeApiError({ code: 'InvalidSnapshotID.Malformed', message: `Invalid id: "${id}" (expecting "snap-...")` });
    }
    const found = ids.map((id) => [id, findSnapshot(world, id)] as const);
    const missing = found.filter(([, s]) => !s).map(([id]) => id);
    if (missing.length > 0) {
      throw new FakeApiError({ code: 'InvalidSnapshot.NotFound', message: `The snapshot '${missing.join(', ')}' does not exist.` });
    }
    snaps = found.map(([, s]) => s!);
  } else {
    // Only the jobs of instances owning a filtered volume (no O(fleet) scan for a per-volume listing).
    const volumeFilter = fs.find((f) => f.name === 'volume-id' && f.values.every((v) => !/[*?]/.test(v)));
    const jobs = volumeFilter ? jobsOfVolumes(world, volumeFilter.values) : undefined;
    snaps = allSnapshots(world, jobs);
  }
  if (owners.length > 0 && !owners.some((o) => o === 'self' || o === ACCOUNT_ID)) snaps = [];
  snaps = snaps.filter((s) => fs.every((f) => {
    const tag = matchesTags({ 'aws:backup:source-resource': s.instanceId }, f);
    if (tag !== undefined) return tag;
    if (f.name === 'snapshot-id') return f.values.some((p) => wildcard(p, s.snapshotId));
    if (f.name === 'volume-id') return f.values.some((p) => wildcard(p, s.volumeId));
    if (f.name === 'status') return f.values.includes(s.state);
    if (f.name === 'owner-id') return f.values.includes(ACCOUNT_ID);
    return true;
  }));
  if (ids.length === 0) snaps = snaps.filter((s) => listedYet(world, s));
  let start = 0;
  const token = params.get('NextToken');
  if (token) {
    const m = /^snap:(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    if (!m) throw new FakeApiError({ code: 'InvalidParameterValue', message: 'Invalid value for NextToken' });
    start = Number(m[1]);
  }
  const pageSize = maxResultsRaw === null ? Infinity : Math.min(maxResults, world.options.snapshotPageSize);
  const page = snaps.slice(start, start + pageSize);
  if (call) call.returned = page.map((s) => s.snapshotId);
  const end = start + page.length;
  const next = end < snaps.length ? `<nextToken>${Buffer.from(`snap:${end}`).toString('base64')}</nextToken>` : '';
  return ok('DescribeSnapshots', `<snapshotSet>${page.map(snapshotXml).join('')}</snapshotSet>${next}`);
}

/** The backup jobs of the instances that own these volumes. */
function jobsOfVolumes(world: World, volumeIds: readonly string[]): BackupJob[] {
  const wanted = new Set(volumeIds);
  const owners = new Set<string>();
  for (const inst of world.instanceList) if (inst.volumes.some((v) => wanted.has(v.volumeId))) owners.add(inst.id);
  return [...world.backupJobs.values()].filter((j) => owners.has(j.instanceId));
}

/** The caller's virtual time (seconds on the world's clocks) from its SigV4 signing time, when it sent one. */
function callerSeconds(world: World, req: FakeRequest): number | undefined {
  const raw = req.headers['x-amz-date'];
  const m = typeof raw === 'string' ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(raw) : null;
  if (!m) return undefined;
  const at = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return (at - world.clock.origin) / 1000;
}

/**
 * Keeps each caller's SigV4 signing time its own virtual time (callerSeconds judges some calls at it). The SDK resets
 * its client's clock offset from every answer's `Date` header (the wall clock here, hours from the caller's virtual
 * time; @aws-sdk/core getUpdatedSystemClockOffset), except when the answer carries an `Age` header: so the EC2
 * stand-in answers `Age: 0` (a fresh answer). Real EC2 stamps the caller's own clock, to within seconds.
 */
function withCallerDate(req: FakeRequest, res: FakeResponse): FakeResponse {
  return req.headers['x-amz-date'] ? { ...res, headers: { ...res.headers, age: '0' } } : res;
}

export function ec2Handler(world: World): FakeHandler {
  const handle = ec2Answer(world);
  return (req: FakeRequest) => withCallerDate(req, handle(req));
}

function ec2Answer(world: World): (req: FakeRequest) => FakeResponse {
  return (req: FakeRequest) => {
    const params = new URLSearchParams(req.body);
    const action = params.get('Action') ?? '';
    const ids = list(params, 'InstanceId');
    const idFilter = filters(params).filter((f) => f.name === 'instance-id').flatMap((f) => f.values);
    const fields = Object.fromEntries([...params].filter(([k]) => k !== 'Action' && k !== 'Version'));
    try {
      const call = world.recordCall('ec2', action, ids.length > 0 ? ids : idFilter, fields);
      // A call about AMIs or snapshots is judged at the clock of the instance whose backup made them.
      const about = ids.length > 0 ? ids : idFilter.length > 0 ? idFilter
        : instancesOfRecoveryIds(world, [...list(params, 'ImageId'), ...list(params, 'SnapshotId')]);
      // A call about no instance nor recovery point (a DescribeSnapshots listing by volume: the snapshot view) is judged
      // at its caller's clock, read from its signing time.
      const byVolume = action === 'DescribeSnapshots' && filters(params).some((f) => f.name === 'volume-id');
      const at = about.length === 0 && byVolume ? callerSeconds(world, req) : undefined;
      checkThrottle(world, 'ec2', action, about, {
        resources: ids.length,
        filteredOrPaginated: filters(params).length > 0 || params.has('MaxResults'),
        ...(at !== undefined ? { at } : {}),
      });
      switch (action) {
        case 'DescribeInstances': return describeInstances(world, params, ids);
        case 'DescribeImages': return describeImages(world, params);
        case 'DescribeSnapshots': return describeSnapshots(world, params, call);
        case 'StopInstances':
        case 'StartInstances': return changeState(world, action, ids, params.get('DryRun') === 'true');
        default: return ec2ErrorResponse('InvalidAction', `The action ${action} is not valid for this web service (fake).`, 400);
      }
    } catch (e) {
      if (e instanceof FakeApiError) {
        const last = world.calls[world.calls.length - 1];
        if (last) last.error = e.code;
        return ec2ErrorResponse(e.code, e.message, e.httpStatus);
      }
      throw e;
    }
  };
}
