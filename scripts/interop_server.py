"""A Logbook server for the interop scripts: `logbook serve` on a free loopback port, its
first admin key read from its output, called over HTTP with that key."""

import os
import re
import socket
import subprocess
import time
import urllib.request
import uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_postgres_url():
    """A new database on the test PostgreSQL server; the run is never skipped."""
    base = os.environ.get("LOGBOOK_TEST_DATABASE_URL")
    if not base:
        raise SystemExit("LOGBOOK_TEST_DATABASE_URL is not set: the PostgreSQL run is never skipped")
    name = "logbook_test_interop_" + uuid.uuid4().hex
    subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", base.split("://", 1)[1], count=1)
    return base.split("://", 1)[0] + "://" + url


class Server:
    def __init__(self, binary, data_dir, database_url=None, clock=None, key=None):
        self.port = free_port()
        env = dict(os.environ, LOGBOOK_DATA_DIR=data_dir, LOGBOOK_RATE_LIMIT_INGEST="0",
                   LOGBOOK_RATE_LIMIT_READ="0", LOGBOOK_LOG="warn", **(clock or {}))
        env.pop("LOGBOOK_SIGNING_KEY", None)
        env.pop("LOGBOOK_DATABASE_URL", None)
        args = [binary, "serve", "--listen", f"127.0.0.1:{self.port}"]
        if database_url:
            args += ["--database-url", database_url]
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
        # The admin key is printed at the first start only.
        self.key = key
        for line in [] if key else self.process.stdout:
            if line.strip().startswith("lbk_"):
                self.key = line.strip()
                break
        if not self.key:
            raise SystemExit(f"logbook serve printed no admin key (exit {self.process.poll()})")
        for _ in range(200):
            try:
                self.call("GET", "/ready")
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("logbook serve did not become ready")

    def call(self, method, path, body=None, content_type="application/x-ndjson"):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def stop(self):
        self.process.kill()
        self.process.wait()
