"""The same operations as bench/worker.mjs, through Python glance_store
(Debian python3-glance-store), for side-by-side figures. Run with /usr/bin/python3.
Usage: reference_bench.py CONF STORE add SRC CHUNK REPS | get LOCATION REPS | small COUNT BYTES CONCURRENCY
       | serve LOCATION REPS | put SRC REPS | delete LOCATION
serve and put run an HTTP server in this process (one handler thread per request, writing
each chunk of the image to the socket as Glance's WSGI server does, or reading the request
body in 64 KiB as Glance's API hands it to the store), the client being curl, as in
bench/worker.mjs.
An add's source hands out at most CHUNK bytes per read, as a request body does; each of the
REPS adds is deleted after it. Prints one JSON line: each operation's seconds and bytes, and
the process's peak RSS (MB)."""
import http.server
import io
import json
import subprocess
import threading
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


class Limited:
    """A request body: at most `left` bytes of the socket, as Glance's LimitingReader."""

    def __init__(self, f, left):
        self.f, self.left = f, left

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = self.f.read(n) if n else b''
        self.left -= len(data)
        return data


def curl(url, upload=None):
    args = ['curl', '-sS', '--fail', '-o', '/dev/null', '-w', '%{size_download} %{size_upload}']
    if upload:
        args += ['-H', 'Expect:', '-T', upload]
    t = time.perf_counter()
    out = subprocess.run(args + [url], check=True, capture_output=True, text=True).stdout.split()
    return {'seconds': time.perf_counter() - t, 'bytes': int(out[1] if upload else out[0])}


def serve(store, loc, ctx, op, arg, reps):
    last = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            it, size = store.get(loc(arg), context=ctx)
            self.send_response(200)
            self.send_header('Content-Length', str(size))
            self.end_headers()
            for chunk in it:
                self.wfile.write(chunk)

        def do_PUT(self):
            size = int(self.headers['Content-Length'])
            r = store.add(str(uuid.uuid4()), Limited(self.rfile, size), size, 'sha512', context=ctx)
            last['url'], last['checksum'], last['multihash'] = r[0], r[2], r[3]
            body = json.dumps({'location': r[0]}).encode()
            self.send_response(201)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = 'http://127.0.0.1:%d/image' % server.server_address[1]
    runs = []
    for _ in range(reps):
        runs.append(curl(url, arg if op == 'put' else None))
        if op == 'put':
            store.delete(loc(last['url']), context=ctx)
    server.shutdown()
    out = {'runs': runs}
    if op == 'put':
        out.update(checksum=last['checksum'], multihash=last['multihash'])
    return out


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
    elif op in ('serve', 'put'):
        out = serve(store, loc, ctx, op, args[0], int(args[1]))
    elif op == 'delete':
        store.delete(loc(args[0]), context=ctx)
    out['peakRssMB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == '__main__':
    main(sys.argv)
