"""Drives the reference Python glance_store (Debian's python3-glance-store)
for interoperability tests: each call adds, gets, sizes or deletes one image
in a store of a multi-store glance-api.conf and prints one JSON line.

Usage (run with /usr/bin/python3):
  reference_store.py CONF add STORE IMAGE_ID INFILE
  reference_store.py CONF get STORE LOCATION OUTFILE
  reference_store.py CONF size STORE LOCATION
  reference_store.py CONF delete STORE LOCATION
  reference_store.py CONF parse STORE LOCATION...   (how the store reads each URI)
"""
import json
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
    multi_backend.create_multi_stores(conf)
    store = multi_backend.get_store_from_store_identifier(store_id)

    def loc(uri):
        return glance_location.get_location_from_uri_and_backend(
            uri, store_id, conf=conf)
    return store, loc


def main(argv):
    conf_file, command, store_id = argv[1], argv[2], argv[3]
    store, loc = open_store(conf_file, store_id)

    try:
        if command == 'add':
            image_id, infile = argv[4], argv[5]
            with open(infile, 'rb') as f:
                size = f.seek(0, 2)
                f.seek(0)
                url, written, checksum, multihash, meta = store.add(
                    image_id, f, size, 'sha512')
            out = {'location': url, 'size': written, 'checksum': checksum,
                   'multihash': multihash, 'metadata': meta}
        elif command == 'get':
            uri, outfile = argv[4], argv[5]
            iterator, size = store.get(loc(uri))
            written = 0
            with open(outfile, 'wb') as f:
                for chunk in iterator:
                    f.write(chunk)
                    written += len(chunk)
            out = {'size': size, 'written': written}
        elif command == 'size':
            out = {'size': store.get_size(loc(argv[4]))}
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
            store.delete(loc(argv[4]))
            out = {'deleted': True}
        else:
            raise SystemExit('unknown command %s' % command)
    except exceptions.NotFound as e:
        out = {'error': 'NotFound', 'message': str(e)}
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv)
