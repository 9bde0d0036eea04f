#!/usr/bin/env python3
"""Extract the request side of AWS's published API models (botocore's service-2.json) for the operations the
simulator's stand-ins serve, into small JSON files next to this script (test/simulator/models/<service>.json).

Usage (from the repository root):
  python3 test/simulator/models/extract.py                      # pip downloads the newest botocore wheel
  python3 test/simulator/models/extract.py path/to/botocore-X.Y.Z-py3-none-any.whl   # offline, from a wheel

Each output file holds the botocore version, the service's metadata (apiVersion, protocol...), the operations
listed below (http binding, input shape) and the closure of the shapes their inputs reference, without
documentation. Only request validation uses them (test/simulator/api-model.ts). Add an operation here when a
stand-in starts serving it, and run the script again.
"""
import glob
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

# service (botocore directory) -> (file name, operations the stand-ins serve)
SERVICES = {
    'ec2': ('ec2', ['DescribeInstances', 'StopInstances', 'StartInstances', 'DescribeImages', 'DescribeSnapshots']),
    'ssm': ('ssm', ['SendCommand', 'GetCommandInvocation', 'ListCommandInvocations', 'CancelCommand',
                    'DescribeInstanceInformation', 'ListCommands']),
    'backup': ('backup', ['StartBackupJob', 'DescribeBackupJob', 'StartCopyJob', 'DescribeCopyJob',
                          'ListBackupJobs', 'ListCopyJobs', 'StopBackupJob', 'DescribeBackupVault']),
    'stepfunctions': ('sfn', ['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat']),
}

# What request validation needs of a shape / member; documentation and output-only details are dropped.
SHAPE_KEYS = ['type', 'required', 'enum', 'min', 'max', 'pattern', 'flattened', 'timestampFormat', 'union',
              'sensitive', 'locationName', 'queryName', 'document']
MEMBER_KEYS = ['shape', 'location', 'locationName', 'queryName', 'flattened', 'idempotencyToken',
               'jsonvalue', 'hostLabel', 'timestampFormat']
METADATA_KEYS = ['apiVersion', 'endpointPrefix', 'jsonVersion', 'protocol', 'serviceId', 'targetPrefix',
                 'uid', 'xmlNamespace']


def wheel_path(argv):
    if len(argv) > 1:
        return argv[1], None
    tmp = tempfile.mkdtemp(prefix='botocore-')
    subprocess.check_call([sys.executable, '-m', 'pip', 'download', '--no-deps', '--quiet', 'botocore', '-d', tmp])
    return glob.glob(os.path.join(tmp, 'botocore-*.whl'))[0], tmp


def newest_version(names, service):
    versions = sorted({m.group(1) for n in names
                       for m in [re.match(r'botocore/data/%s/([^/]+)/service-2\.json(\.gz)?$' % service, n)] if m})
    if not versions:
        raise SystemExit('no model for %s in the wheel' % service)
    return versions[-1]


def read_model(z, names, service, version):
    base = 'botocore/data/%s/%s/service-2.json' % (service, version)
    if base + '.gz' in names:
        return json.loads(gzip.decompress(z.read(base + '.gz')))
    return json.loads(z.read(base))


def closure(shapes, roots):
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        s = shapes[name]
        refs = [m['shape'] for m in s.get('members', {}).values()]
        refs += [s[k]['shape'] for k in ('member', 'key', 'value') if k in s]
        todo.extend(refs)
    return seen


def slim_ref(ref):
    return {k: ref[k] for k in MEMBER_KEYS if k in ref}


def slim_shape(s):
    out = {k: s[k] for k in SHAPE_KEYS if k in s}
    if 'members' in s:
        out['members'] = {n: slim_ref(m) for n, m in s['members'].items()}
    for k in ('member', 'key', 'value'):
        if k in s:
            out[k] = slim_ref(s[k])
    return out


def main(argv):
    wheel, _ = wheel_path(argv)
    version = re.match(r'botocore-([^-]+)-', os.path.basename(wheel)).group(1)
    out_dir = os.path.dirname(os.path.abspath(__file__))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for service, (file_name, operations) in SERVICES.items():
            api_version = newest_version(names, service)
            model = read_model(z, names, service, api_version)
            ops, roots = {}, []
            for op in operations:
                o = model['operations'][op]
                ops[op] = {'http': o['http']}
                if 'input' in o:
                    ops[op]['input'] = o['input']['shape']
                    roots.append(o['input']['shape'])
                ops[op]['errors'] = [e['shape'] for e in o.get('errors', [])]
            shapes = {n: slim_shape(model['shapes'][n]) for n in sorted(closure(model['shapes'], roots))}
            doc = {
                'source': 'botocore %s, botocore/data/%s/%s/service-2.json (https://pypi.org/project/botocore/%s/)'
                          % (version, service, api_version, version),
                'botocoreVersion': version,
                'service': service,
                'metadata': {k: model['metadata'][k] for k in METADATA_KEYS if k in model['metadata']},
                'operations': ops,
                'shapes': shapes,
            }
            path = os.path.join(out_dir, '%s.json' % file_name)
            with open(path, 'w') as f:
                json.dump(doc, f, indent=1, sort_keys=True)
                f.write('\n')
            print('%s: %s %s, %d operations, %d shapes -> %s'
                  % (service, api_version, version, len(ops), len(shapes), os.path.relpath(path)))


if __name__ == '__main__':
    main(sys.argv)
