"""The same operations as bench/worker.mjs, through Python glance_store
(Debian python3-glance-store), for side-by-side figures. Run with /usr/bin/python3.
Usage: reference_bench.py CONF STORE add SRC CHUNK REPS | get LOCATION REPS | small COUNT BYTES CONCURRENCY
       | delete LOCATION
An add's source hands out at most CHUNK bytes per read, as a request body does; each of the
REPS adds is deleted after it. Prints one JSON line: each operation's seconds and bytes, and
the process's peak RSS (MB)."""
import io
import json
import os
import resource
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'interop'))
from reference_store import open_store, request_context  # noqa: E402


class Capped:
    """A file that returns at most `chunk` bytes per read, like a request body."""

    def __init__(self, f, chunk):
        self.f, self.chunk = f, chunk

    def read(self, n=-1):
        return self.f.read(self.chunk if n is None or n < 0 else min(n, self.chunk))


def main(argv):
    conf_file, store_id, op = argv[1], argv[2], argv[3]
    args = argv[4:]
    store, loc = open_store(conf_file, store_id)
    # The request context run.mjs passes for stores that need one (cinder); None otherwise.
    ctx = request_context()

    out = {}
    if op == 'add':
        src, chunk, reps = args[0], int(args[1]), int(args[2])
        size = os.path.getsize(src)
        runs = []
        for _ in range(reps):
            with open(src, 'rb') as f:
                t = time.perf_counter()
                url, written, checksum, multihash, _ = store.add(str(uuid.uuid4()), Capped(f, chunk), size, 'sha512',
                                                                 context=ctx)
                runs.append({'seconds': time.perf_counter() - t, 'bytes': written})
            store.delete(loc(url), context=ctx)
        out = {'runs': runs, 'checksum': checksum, 'multihash': multihash}
    elif op == 'get':
        runs = []
        for _ in range(int(args[1])):
            t = time.perf_counter()
            it, _ = store.get(loc(args[0]), context=ctx)
            n = 0
            for chunk in it:
                n += len(chunk)
            runs.append({'seconds': time.perf_counter() - t, 'bytes': n})
        out = {'runs': runs}
    elif op == 'small':
        count, size, concurrency = (int(a) for a in args)
        data = os.urandom(size)
        lat = []

        def one(_):
            s = time.perf_counter()
            url = store.add(str(uuid.uuid4()), io.BytesIO(data), size, 'sha512', context=ctx)[0]
            lat.append((time.perf_counter() - s) * 1000)
            return url

        t = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            urls = list(pool.map(one, range(count)))
        seconds = time.perf_counter() - t
        for u in urls:
            store.delete(loc(u), context=ctx)
        lat.sort()
        out = {'seconds': seconds, 'count': count, 'p50': lat[int(count * 0.5)], 'p99': lat[int(count * 0.99)]}
    elif op == 'delete':
        store.delete(loc(args[0]), context=ctx)
    out['peakRssMB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv)
