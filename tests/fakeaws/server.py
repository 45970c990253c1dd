#!/usr/bin/python3
"""fakeaws server: `server.py --port 0 --port-file F --world demo [--latency MS]
[--latency-service svc=MS ...] [--verbose]`. Listens on 127.0.0.1 only.

AWS requests go to the fake (dispatch.Fake); /_fake/... is the control API:
  GET    /_fake/health            "ok"
  GET    /_fake/state             the whole world as JSON
  POST   /_fake/reset             body: a world document, {"world": "name-or-path"}, or empty (initial world)
  GET    /_fake/calls             received calls (?service=&operation= filter); DELETE clears them
  POST   /_fake/faults            one fault spec or a list (see faults.py); GET lists; DELETE clears
  POST   /_fake/config            {"latency_ms": N, "latency_service": {"ec2": N}}
"""
import argparse
import http.server
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "fakeaws"  # noqa: A001 - lets the relative imports below work as a script

from fakeaws import dispatch, state, wire_in  # noqa: E402

MAX_BODY = 64 * 1024 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeaws"
    sys_version = ""
    # Headers and body leave in separate writes: without TCP_NODELAY, Nagle plus the
    # client's delayed ACK add ~40 ms to every response.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fakeaws: " + (fmt % args) + "\n")

    def _body(self):
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def _any(self):
        try:
            body = self._body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        if path.startswith("/_fake/"):
            return self._control(path, query, body)
        req = wire_in.Request(self.command, path, query, list(self.headers.items()), body)
        try:
            out = self.server.fake.handle(req)
        except Exception as e:  # noqa: BLE001 - a bug in the fake is a 500, not a dead server
            import traceback
            traceback.print_exc()
            return self._send(500, [("Content-Type", "text/plain")], f"fakeaws bug: {e}".encode())
        if out.delay:
            time.sleep(out.delay)
        if out.action == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        r = out.response
        self._send(r.status, r.headers, r.body, truncate=out.action == "truncate")

    def _send(self, status, headers, body, truncate=False):
        self.send_response(status)
        has_len = False
        for k, v in headers:
            if k.lower() == "content-length":
                has_len = True
            self.send_header(k, v)
        if not has_len:
            self.send_header("Content-Length", str(len(body)))
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if truncate:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _json(self, status, value):
        self._send(status, [("Content-Type", "application/json")], json.dumps(value, indent=1).encode())

    def _control(self, path, query, body):
        fake = self.server.fake
        q = dict(urllib.parse.parse_qsl(query))
        what, m = path[len("/_fake/"):].strip("/"), self.command
        try:
            if what == "health":
                return self._send(200, [("Content-Type", "text/plain")], b"ok")
            if what == "state" and m == "GET":
                with fake.lock:
                    return self._json(200, fake.world.dump())
            if what == "reset" and m == "POST":
                doc = json.loads(body) if body.strip() else None
                if doc is None:
                    doc = fake.initial
                elif isinstance(doc, str) or (isinstance(doc, dict) and set(doc) == {"world"}):
                    doc = state.load_world(doc if isinstance(doc, str) else doc["world"])
                fake.reset(doc)
                fake.faults.clear()
                return self._json(200, {"ok": True})
            if what == "calls" and m == "GET":
                calls = [c for c in fake.calls_snapshot()
                         if all(c.get(k) == v for k, v in q.items() if k in ("service", "operation"))]
                return self._json(200, calls)
            if what == "calls" and m == "DELETE":
                with fake.lock:
                    fake.calls = []
                return self._json(200, {"ok": True})
            if what == "faults" and m == "POST":
                specs = json.loads(body)
                added = [fake.faults.add(s) for s in (specs if isinstance(specs, list) else [specs])]
                return self._json(200, added)
            if what == "faults" and m == "GET":
                return self._json(200, fake.faults.list())
            if what == "faults" and m == "DELETE":
                fake.faults.clear()
                return self._json(200, {"ok": True})
            if what == "config" and m == "POST":
                cfg = json.loads(body)
                if "latency_ms" in cfg:
                    fake.latency_ms = float(cfg["latency_ms"])
                if "latency_service" in cfg:
                    fake.latency_service = {k: float(v) for k, v in cfg["latency_service"].items()}
                return self._json(200, {"ok": True})
        except (ValueError, KeyError, OSError) as e:
            return self._json(400, {"error": str(e)})
        return self._json(404, {"error": f"no control endpoint {m} {path}"})

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass  # the connection was reset on purpose (fault "reset")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return      # a client that hangs up (or a reset fault) is not a server error
        super().handle_error(request, client_address)


def main(argv=None):
    ap = argparse.ArgumentParser(description="fakeaws: a local AWS endpoint for tests (127.0.0.1 only)")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    ap.add_argument("--port-file", help="write the chosen port to this file once listening")
    ap.add_argument("--world", default="demo", help="world file path or name in worlds/ (default demo)")
    ap.add_argument("--latency", type=float, default=0, metavar="MS", help="added to every AWS response")
    ap.add_argument("--latency-service", action="append", default=[], metavar="SVC=MS",
                    help="per-service latency, overrides --latency (repeatable)")
    ap.add_argument("--verbose", action="store_true", help="log each request on stderr")
    a = ap.parse_args(argv)
    per = {}
    for item in a.latency_service:
        svc, _, ms = item.partition("=")
        if not ms:
            ap.error(f"--latency-service wants SVC=MS, not {item!r}")
        per[svc] = float(ms)
    try:
        world = state.load_world(a.world)
    except (OSError, ValueError) as e:
        ap.error(f"cannot load world {a.world!r}: {e}")
    fake = dispatch.Fake(world, a.latency, per)
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.fake, srv.verbose = fake, a.verbose
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, a.port_file)
    print(f"fakeaws listening on http://127.0.0.1:{port}", flush=True)

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
