"""Audit exports checked by a verifier Logbook did not write.

Starts `logbook serve` on SQLite and on PostgreSQL, appends audit events whose times,
numbers and strings are spelled every way a client spells them, exports each trail, and
checks every export with the Python verifier printed in docs/AUDIT-FORMAT.md (RFC 8785
from PyPI's `rfc8785`, Ed25519 from `cryptography`). An edited export must fail it, so
the verifier is shown able to fail.

    python3 scripts/audit_interop.py BINARY [EVENTS]

EVENTS (default 5,000) are appended 50 to a request; 100,000 makes the 2,000-request run
the format was first found wanting on. PostgreSQL comes from LOGBOOK_TEST_DATABASE_URL.
"""

import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_verifier():
    """The verifier exactly as docs/AUDIT-FORMAT.md prints it."""
    with open(os.path.join(ROOT, "docs", "AUDIT-FORMAT.md"), encoding="utf-8") as f:
        doc = f.read()
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    namespace = {"__name__": "audit_format_verifier"}
    exec(compile(code, "docs/AUDIT-FORMAT.md", "exec"), namespace)
    return namespace["verify"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, data_dir, database_url=None):
        self.port = free_port()
        env = dict(os.environ, LOGBOOK_DATA_DIR=data_dir, LOGBOOK_RATE_LIMIT_INGEST="0",
                   LOGBOOK_RATE_LIMIT_READ="0", LOGBOOK_LOG="warn")
        env.pop("LOGBOOK_SIGNING_KEY", None)
        env.pop("LOGBOOK_DATABASE_URL", None)
        args = [binary, "serve", "--listen", f"127.0.0.1:{self.port}"]
        if database_url:
            args += ["--database-url", database_url]
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
        self.key = None
        for line in self.process.stdout:
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

    def call(self, method, path, body=None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def stop(self):
        self.process.kill()
        self.process.wait()


# Times as clients write them: whole seconds, whole milliseconds, microseconds,
# nanoseconds (cut to microseconds), and offsets other than Z.
FIXED_TIMES = [
    "2026-12-03T02:05:04Z",
    "2026-12-03T02:46:50.927Z",
    "2026-12-03T02:46:50.922274Z",
    "2026-12-03T02:46:50.9222749Z",
    "2026-12-03T03:46:50.1+01:00",
    "2026-12-03T02:46:50.000000Z",
    "2026-12-02T21:16:50.500-05:30",
]


def random_time(rng):
    seconds = rng.randrange(0, 1_764_000_000)
    digits = rng.choice([0, 1, 3, 6, 9])
    fraction = "".join(rng.choice("0123456789") for _ in range(digits))
    if digits and rng.random() < 0.3:
        # Whole milliseconds, whole seconds, written with trailing zeros.
        keep = rng.choice([0, 3])
        fraction = fraction[:keep] + "0" * (digits - keep)
    fraction = "." + fraction if fraction else ""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + fraction
    return stamp + rng.choice(["Z", "Z", "+00:00", "+02:00", "-07:00"])


def random_number(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice([2**53 - 1, -(2**53 - 1), 0, -0.0, 1.7976931348623157e308, 5e-324, 1e21, 0.1])
    if kind == 1:
        return rng.randrange(-(2**53 - 1), 2**53)
    if kind == 2:
        return round(rng.uniform(0, 1e6), rng.randrange(1, 12))
    while True:
        value = rng.uniform(-1, 1) * 10 ** rng.randrange(-320, 308)
        if value == value and abs(value) != float("inf"):
            return value


STRINGS = ["plain", "é", "\U0001F600", "\uFFFD", "tab\there", "quote\"back\\slash", "\u2028", "ü" * 3]


def event(rng, index):
    occurred = FIXED_TIMES[index % len(FIXED_TIMES)] if index < 50 else random_time(rng)
    keys = [rng.choice(STRINGS) + str(i) for i in range(3)]
    return {
        "action": rng.choice(["update", "delete", "patient_data_access"]),
        "resource_type": "doc",
        "resource_id": f"d-{index}",
        "actor_id": rng.choice(STRINGS),
        "occurred_at": occurred,
        "ip_address": rng.choice(["192.0.2.4", "::ffff:10.1.2.3", "2001:DB8::1"]),
        "before": {keys[0]: random_number(rng), "list": [random_number(rng) for _ in range(3)]},
        "after": {keys[1]: random_number(rng), "nested": {keys[2]: rng.choice(STRINGS)}},
        "metadata": {"n": random_number(rng)},
    }


def run(binary, label, events, database_url=None):
    verify = load_verifier()
    rng = random.Random(20261204)
    data_dir = tempfile.mkdtemp(prefix="logbook-interop-")
    server = Server(binary, data_dir, database_url)
    try:
        requests = 0
        for start in range(0, events, 50):
            batch = [json.dumps(event(rng, i)) for i in range(start, min(start + 50, events))]
            answer = json.loads(server.call("POST", "/api/v1/audit", "\n".join(batch).encode()))
            if answer["rejected"]:
                raise SystemExit(f"{label}: events were refused: {answer['rejected'][:3]}")
            requests += 1
        export = server.call("GET", "/api/v1/audit/export")
    finally:
        server.stop()
    path = os.path.join(data_dir, "export.ndjson")
    with open(path, "wb") as f:
        f.write(export)
    lines = export.decode().splitlines()
    header = json.loads(lines[0])
    problem = verify(path, [header["public_key"]])
    if problem:
        raise SystemExit(f"{label}: the independent verifier refused the export: {problem}")
    whole_ms = sum(1 for line in lines[1:] if re.search(r'"received_at":"[^"]*\.\d{3}000Z"', line))
    # An edited export must fail: the verifier can say no.
    edited = path + ".edited"
    with open(edited, "w", encoding="utf-8") as f:
        f.write(export.decode().replace('"resource_id":"d-7"', '"resource_id":"d-8"', 1))
    if not verify(edited, [header["public_key"]]):
        raise SystemExit(f"{label}: the verifier accepted an edited export")
    result = subprocess.run([binary, "verify", path, "--public-key", header["public_key"]],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{label}: logbook verify refused what the independent verifier accepted: {result.stderr}")
    print(f"audit interop, {label}: {header['to_seq']} events appended in {requests} requests, "
          f"{whole_ms} received on a whole millisecond; the independent verifier and logbook verify agree: ok")


def main():
    binary = sys.argv[1]
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    run(binary, "sqlite", events)
    base = os.environ.get("LOGBOOK_TEST_DATABASE_URL")
    if not base:
        raise SystemExit("LOGBOOK_TEST_DATABASE_URL is not set: the PostgreSQL run is never skipped")
    name = "logbook_test_interop_" + uuid.uuid4().hex
    subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", base.split("://", 1)[1], count=1)
    run(binary, "postgres", events, base.split("://", 1)[0] + "://" + url)


if __name__ == "__main__":
    main()
