"""Checks the test Cinder (test/services/cinder.sh) the way the cinder driver
will use it, then checks that Debian's glance_store cinder store works
against it, timing each step.

  /usr/bin/python3 test/services/cinder-smoke.py [--keystone] [--no-reference]

1. The REST walk: a 1 GiB volume with metadata, `available`; an attachment
   (microversion 3.54, no instance_uuid), updated with a connector, then
   `os-complete`; the rbd connection_info; a few bytes written and read back
   with the `rbd` command as client.cinder on the monitors connection_info
   names and the key os-brick reads (/etc/ceph/ceph.client.cinder.keyring);
   detach; os-extend to 2 GiB; delete; nothing left in the pool.
2. Debian's python3-glance-store cinder store adds, sizes, reads and deletes
   a small image through test/interop/reference_store.py.

--keystone runs both against the API behind Keystone (cinder-keystone.sh):
a password token and the catalog's volumev3 endpoint for the REST walk, the
cinder_store_* options for glance_store. Exits non-zero on the first
failed check.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, '..', 'interop', 'reference_store.py')
GiB = 1024 ** 3


def read_env(name):
    state = os.environ.get('%s_STATE_DIR' % name.upper().replace('-', '_'),
                           '/tmp/glance-store-%s' % name)
    path = os.path.join(state, 'env')
    if not os.path.exists(path):
        sys.exit('%s is not running (no %s)' % (name, path))
    with open(path) as f:
        return dict(line.rstrip('\n').split('=', 1) for line in f if '=' in line)


class Timer:
    def __init__(self):
        self.steps = []

    def __call__(self, name, fn, *args):
        t0 = time.monotonic()
        out = fn(*args)
        took = time.monotonic() - t0
        self.steps.append((name, took))
        print('%-44s %6.2f s' % (name, took), flush=True)
        return out


def check(cond, message):
    if not cond:
        raise SystemExit('FAILED: %s' % message)


class Cinder:
    """The few Cinder v3 calls the driver makes, over plain HTTP."""

    def __init__(self, url, token):
        self.url, self.token = url.rstrip('/'), token

    def call(self, method, path, body=None, expect=(200, 202), version='3.54'):
        req = urllib.request.Request(
            self.url + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={'X-Auth-Token': self.token, 'Accept': 'application/json',
                     'Content-Type': 'application/json',
                     'OpenStack-API-Version': 'volume %s' % version})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        check(status in expect, '%s %s answered %s: %s' % (method, path, status, data[:300]))
        return json.loads(data) if data else None

    def volume(self, vid):
        return self.call('GET', '/volumes/%s' % vid)['volume']

    def wait(self, vid, status, timeout=60):
        deadline, delay = time.monotonic() + timeout, 0.05
        while True:
            v = self.volume(vid)
            if v['status'] == status:
                return v
            check(not v['status'].startswith('error'), 'volume %s went %s' % (vid, v['status']))
            check(time.monotonic() < deadline, 'volume %s still %s after %d s' % (vid, v['status'], timeout))
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def wait_gone(self, vid, timeout=60):
        deadline = time.monotonic() + timeout
        while 'itemNotFound' not in self.call('GET', '/volumes/%s' % vid, expect=(200, 404)):
            check(time.monotonic() < deadline, 'volume %s not deleted after %d s' % (vid, timeout))
            time.sleep(0.1)


class Rbd:
    """The rbd command as client.cinder, configured only from connection_info
    and the keyring os-brick reads, as the driver will be."""

    def __init__(self, info):
        mons = ','.join('%s:%s' % hp for hp in zip(info['hosts'], info['ports']))
        keyring = '/etc/ceph/%s.client.%s.keyring' % (info['cluster_name'], info['auth_username'])
        self.base = ['rbd', '-c', '/dev/null', '-m', mons, '--id', info['auth_username'],
                     '--keyring', keyring]

    @classmethod
    def from_env(cls, env):
        # Cinder's own ceph.conf, for a look at the pool before any volume exists.
        rbd = cls.__new__(cls)
        rbd.base = ['rbd', '-c', env['CINDER_CEPH_CONF'], '--id', env['CINDER_CEPH_USER']]
        return rbd

    def images(self, pool):
        return set(self.run('ls', pool).decode().split())

    def run(self, *args, data=None):
        p = subprocess.run(self.base + list(args), input=data, capture_output=True, timeout=120)
        check(p.returncode == 0, 'rbd %s: %s' % (' '.join(args), p.stderr.decode()[-300:]))
        return p.stdout

    # `rbd import-diff` and `export-diff` write and read extents of an
    # existing image (format "rbd diff v1": 'w' offset length data records).
    def write(self, image, offset, data):
        diff = b'rbd diff v1\n' + b'w' + struct.pack('<QQ', offset, len(data)) + data + b'e'
        self.run('import-diff', '-', image, data=diff)

    def read_written(self, image):
        out = self.run('export-diff', image, '-')
        check(out.startswith(b'rbd diff v1\n'), 'export-diff gave no diff')
        pos, extents = len(b'rbd diff v1\n'), {}
        while out[pos:pos + 1] != b'e':
            tag = out[pos:pos + 1]
            pos += 1
            if tag in (b'f', b't'):
                (n,) = struct.unpack_from('<I', out, pos)
                pos += 4 + n
            elif tag == b's':
                pos += 8
            elif tag in (b'w', b'z'):
                off, length = struct.unpack_from('<QQ', out, pos)
                pos += 16
                if tag == b'w':
                    extents[off] = out[pos:pos + length]
                    pos += length
            else:
                raise SystemExit('FAILED: unknown export-diff record %r' % tag)
        return extents


def connector():
    # What os-brick's get_connector_properties gives glance_store here.
    host = socket.gethostname()
    return {'platform': 'x86_64', 'os_type': 'linux', 'ip': '127.0.0.1', 'host': host,
            'multipath': False, 'enforce_multipath': False, 'do_local_attach': False,
            'mountpoint': 'glance_store'}


def rest_walk(api, timer, project_id):
    image_id = str(uuid.uuid4())
    meta = {'glance_image_id': image_id, 'image_owner': project_id, 'image_size': '11'}
    v = timer('create volume (1 GiB, metadata)', api.call, 'POST', '/volumes',
              {'volume': {'size': 1, 'name': 'image-%s' % image_id, 'metadata': meta}})['volume']
    vid = v['id']
    try:
        return walk_volume(api, timer, vid, meta)
    except BaseException:
        cleanup(api, vid)
        raise


def cleanup(api, vid):
    # A failed check leaves nothing behind either.
    try:
        for a in api.call('GET', '/attachments?volume_id=%s' % vid)['attachments']:
            api.call('DELETE', '/attachments/%s' % a['id'], expect=(200, 202, 404))
        api.wait(vid, 'available', timeout=30)
    except BaseException:
        pass
    api.call('DELETE', '/volumes/%s' % vid, expect=(202, 404))


def walk_volume(api, timer, vid, meta):
    v = timer('wait available', api.wait, vid, 'available')
    check(v['size'] == 1 and v['metadata'] == meta, 'volume %s: size %s metadata %s' % (vid, v['size'], v['metadata']))
    a = timer('create attachment (3.54, no instance)', api.call, 'POST', '/attachments',
              {'attachment': {'volume_uuid': vid, 'mode': 'rw'}})['attachment']
    check(a['status'] == 'reserved', 'new attachment is %s' % a['status'])
    a = timer('update attachment with a connector', api.call, 'PUT', '/attachments/%s' % a['id'],
              {'attachment': {'connector': connector()}})['attachment']
    timer('os-complete', api.call, 'POST', '/attachments/%s/action' % a['id'], {'os-complete': None}, (204, 200, 202))
    check(api.volume(vid)['status'] == 'in-use', 'volume not in-use after os-complete')
    info = a['connection_info']
    print('connection_info: %s' % json.dumps({k: v for k, v in info.items() if 'secret' not in k and k != 'keyring'}, sort_keys=True))
    check(info.get('driver_volume_type') == 'rbd', 'driver_volume_type %r' % info.get('driver_volume_type'))
    check(info.get('name') == 'volumes/volume-%s' % vid, 'name %r' % info.get('name'))
    check(info.get('hosts') and len(info['hosts']) == len(info.get('ports', [])), 'hosts/ports %r %r' % (info.get('hosts'), info.get('ports')))
    check(all(isinstance(p, str) for p in info['ports']), 'ports are not strings')
    check(info.get('auth_username') == 'cinder' and not info.get('keyring'), 'auth_username %r, keyring present: %s' % (info.get('auth_username'), bool(info.get('keyring'))))

    rbd = Rbd(info)
    data, offset = b'hello cinder', 5 * 1024 * 1024 + 3
    timer('rbd write 12 bytes as client.cinder', rbd.write, info['name'], offset, data)
    extents = timer('rbd read back', rbd.read_written, info['name'])
    found = any(o <= offset and offset + len(data) <= o + len(b) and b[offset - o:offset - o + len(data)] == data
                for o, b in extents.items())
    check(found, 'the bytes written are not read back (extents %s)' % sorted((o, len(b)) for o, b in extents.items()))

    timer('detach (delete attachment)', api.call, 'DELETE', '/attachments/%s' % a['id'])
    timer('wait available', api.wait, vid, 'available')
    timer('os-extend to 2 GiB', api.call, 'POST', '/volumes/%s/action' % vid, {'os-extend': {'new_size': 2}})
    v = timer('wait available', api.wait, vid, 'available')
    check(v['size'] == 2, 'size after extend %s' % v['size'])
    size = json.loads(rbd.run('info', '--format', 'json', info['name']))['size']
    check(size == 2 * GiB, 'rbd image is %d bytes after extend' % size)
    timer('delete volume', api.call, 'DELETE', '/volumes/%s' % vid)
    timer('wait gone', api.wait_gone, vid)
    return rbd, info['name'].split('/')[0], vid


def reference_walk(conf_text, context, timer):
    """glance_store's own cinder store: add, size, get, delete."""
    d = tempfile.mkdtemp(prefix='gs-cinder-smoke-')
    try:
        return reference_calls(d, conf_text, context, timer)
    finally:
        shutil.rmtree(d)


def reference_calls(d, conf_text, context, timer):
    conf, src, out = (os.path.join(d, n) for n in ('glance-api.conf', 'src.bin', 'out.bin'))
    with open(conf, 'w') as f:
        f.write(conf_text)
    data = os.urandom(3 * 1024 * 1024 + 17)
    with open(src, 'wb') as f:
        f.write(data)
    env = dict(os.environ, GLANCE_STORE_REFERENCE_CONTEXT=json.dumps(context))

    def ref(*args):
        p = subprocess.run(['/usr/bin/python3', REFERENCE, conf] + list(args), capture_output=True, env=env, timeout=300)
        check(p.returncode == 0, 'reference_store.py %s: %s' % (args[0], p.stderr.decode()[-1500:]))
        return json.loads(p.stdout.decode().strip().split('\n')[-1])

    added = timer('glance_store add 3 MiB', ref, 'add', 'volumes', str(uuid.uuid4()), src)
    print('glance_store location: %s' % added['location'])
    check(added['location'].startswith('cinder://volumes/') and added['size'] == len(data), 'add gave %s' % added)
    check(timer('glance_store size', ref, 'size', 'volumes', added['location'])['size'] == len(data), 'size differs')
    got = timer('glance_store get', ref, 'get', 'volumes', added['location'], out)
    with open(out, 'rb') as f:
        check(got['written'] == len(data) and f.read() == data, 'glance_store reads back different bytes')
    timer('glance_store delete', ref, 'delete', 'volumes', added['location'])
    return added['location'].rsplit('/', 1)[1]


def keystone_token(ks):
    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': ks['CINDER_KS_USER'], 'domain': {'id': 'default'}, 'password': ks['CINDER_KS_PASSWORD']}}},
        'scope': {'project': {'name': ks['CINDER_KS_PROJECT'], 'domain': {'id': 'default'}}}}}
    req = urllib.request.Request(ks['CINDER_KS_AUTH_URL'] + '/auth/tokens', data=json.dumps(body).encode(),
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=30) as r:
        catalog = json.loads(r.read())['token']['catalog']
        token = r.headers['X-Subject-Token']
    url = [e['url'] for s in catalog if s['type'] == 'volumev3' for e in s['endpoints']
           if e['interface'] == 'public' and e['region_id'] == ks['CINDER_KS_REGION']]
    check(len(url) == 1, 'volumev3 public endpoints in the catalog: %s' % url)
    return token, url[0]


def main(argv):
    keystone = '--keystone' in argv
    env = read_env('cinder')
    timer = Timer()
    t0 = time.monotonic()
    if keystone:
        ks = read_env('cinder-keystone')
        token, url = timer('keystone token + catalog', keystone_token, ks)
        api, project = Cinder(url, token), ks['CINDER_KS_PROJECT_ID']
        context = {'user_id': ks['CINDER_KS_USER_ID'], 'project_id': project, 'auth_token': token, 'service_catalog': []}
        store_opts = ('cinder_store_auth_address = %(CINDER_KS_AUTH_URL)s\n'
                      'cinder_store_user_name = %(CINDER_KS_USER)s\n'
                      'cinder_store_password = %(CINDER_KS_PASSWORD)s\n'
                      'cinder_store_project_name = %(CINDER_KS_PROJECT)s\n'
                      'cinder_os_region_name = %(CINDER_KS_REGION)s\n' % ks)
    else:
        api, project = Cinder('%s/%s' % (env['CINDER_URL'], env['CINDER_PROJECT_ID']), env['CINDER_TOKEN']), env['CINDER_PROJECT_ID']
        context = {'user_id': env['CINDER_USER_ID'], 'project_id': project, 'auth_token': env['CINDER_TOKEN'], 'service_catalog': []}
        store_opts = 'cinder_endpoint_template = %s\n' % env['CINDER_ENDPOINT_TEMPLATE']

    pool = env['CINDER_CEPH_POOL']
    before = Rbd.from_env(env).images(pool)
    rbd, _, vid = rest_walk(api, timer, project)
    check(rbd.images(pool) <= before, 'left in the pool: %s' % (rbd.images(pool) - before))
    print('REST walk: %.2f s' % sum(t for _, t in timer.steps))

    if '--no-reference' not in argv:
        conf = ('[DEFAULT]\nenabled_backends = volumes:cinder\n'
                '[glance_store]\ndefault_backend = volumes\n'
                '[volumes]\n' + store_opts +
                # os-brick starts its privileged helper with this command
                # (the default goes through sudo and glance's rootwrap).
                '[privsep_osbrick]\nhelper_command = privsep-helper\n')
        vid = reference_walk(conf, context, timer)
        api.wait_gone(vid)
        check(rbd.images(pool) <= before, 'glance_store left in the pool: %s' % (rbd.images(pool) - before))
    print('total: %.2f s' % (time.monotonic() - t0))


if __name__ == '__main__':
    main(sys.argv[1:])
