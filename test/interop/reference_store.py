"""Drives the reference Python glance_store (Debian's python3-glance-store)
for interoperability tests: each call adds, gets, sizes or deletes one image
in a store of a multi-store glance-api.conf and prints one JSON line.

Usage (run with /usr/bin/python3):
  reference_store.py CONF add STORE IMAGE_ID INFILE
  reference_store.py CONF get STORE LOCATION OUTFILE
  reference_store.py CONF size STORE LOCATION
  reference_store.py CONF delete STORE LOCATION
  reference_store.py CONF parse STORE LOCATION...   (how the store reads each URI)

Each call runs with the request context GLANCE_STORE_REFERENCE_CONTEXT holds
(JSON: user_id, project_id, auth_token, service_catalog), as Glance passes
one; without it, none. The cinder store needs one (the project owns the
volume; `service_catalog: []` is enough with cinder_endpoint_template), and
as root it also needs `[privsep_osbrick] helper_command = privsep-helper` in
CONF and the Ceph user's key in /etc/ceph/<cluster>.client.<user>.keyring.
"""
import json
import os
import sys

from oslo_config import cfg
from glance_store import exceptions
from glance_store import location as glance_location
from glance_store import multi_backend


def open_store(conf_file, store_id):
    """Loads a multi-store glance-api.conf as Glance does; returns the
    store and a function turning a location URI into a Location."""
    conf = cfg.CONF
    conf.register_opt(cfg.DictOpt('enabled_backends'))
    conf([], project='glance', default_config_files=[conf_file])
    multi_backend.register_store_opts(conf)
    vmware = conf.enabled_backends.get(store_id) == 'vmware'
    if vmware:
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the
        # vmware_ca_file oslo.vmware sets on its session (the store logs in
        # while it is created), so they are dropped first.
        for name in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
            os.environ.pop(name, None)
    multi_backend.create_multi_stores(conf)
    if vmware:
        alias_vmware_scheme()
    store = multi_backend.get_store_from_store_identifier(store_id)

    def loc(uri):
        return glance_location.get_location_from_uri_and_backend(
            uri, store_id, conf=conf)
    return store, loc


def alias_vmware_scheme():
    """glance_store 4.1's get_store_from_store_identifier looks a store up
    by its type ('vmware') in a map keyed by scheme ('vsphere'), so it never
    finds a vmware store: the map gets the type as an alias of the scheme."""
    schemes = glance_location.SCHEME_TO_CLS_BACKEND_MAP
    if 'vsphere' in schemes:
        schemes.setdefault('vmware', schemes['vsphere'])


def request_context():
    spec = os.environ.get('GLANCE_STORE_REFERENCE_CONTEXT')
    if not spec:
        return None
    from oslo_context import context
    spec = json.loads(spec)
    ctx = context.RequestContext(user_id=spec.get('user_id'),
                                 project_id=spec.get('project_id'),
                                 auth_token=spec.get('auth_token'))
    # Glance's RequestContext carries the catalog; oslo's has no such field.
    ctx.service_catalog = spec.get('service_catalog')
    return ctx


def main(argv):
    conf_file, command, store_id = argv[1], argv[2], argv[3]
    store, loc = open_store(conf_file, store_id)
    ctx = request_context()

    try:
        if command == 'add':
            image_id, infile = argv[4], argv[5]
            with open(infile, 'rb') as f:
                size = f.seek(0, 2)
                f.seek(0)
                url, written, checksum, multihash, meta = store.add(
                    image_id, f, size, 'sha512', context=ctx)
            out = {'location': url, 'size': written, 'checksum': checksum,
                   'multihash': multihash, 'metadata': meta}
        elif command == 'get':
            uri, outfile = argv[4], argv[5]
            iterator, size = store.get(loc(uri), context=ctx)
            written = 0
            with open(outfile, 'wb') as f:
                for chunk in iterator:
                    f.write(chunk)
                    written += len(chunk)
            out = {'size': size, 'written': written}
        elif command == 'size':
            out = {'size': store.get_size(loc(argv[4]), context=ctx)}
        elif command == 'parse':
            out = []
            for uri in argv[4:]:
                try:
                    sl = loc(uri).store_location
                    fields = {k: getattr(sl, k, None) for k in (
                        'scheme', 'user', 'key', 'container', 'obj',
                        'auth_or_store_url')}
                    fields['uri'] = sl.get_uri()
                    fields['swift_url'] = sl.swift_url
                    out.append(fields)
                except exceptions.BadStoreUri as e:
                    out.append({'error': 'BadStoreUri'})
        elif command == 'delete':
            store.delete(loc(argv[4]), context=ctx)
            out = {'deleted': True}
        else:
            raise SystemExit('unknown command %s' % command)
    except exceptions.NotFound as e:
        out = {'error': 'NotFound', 'message': str(e)}
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv)
