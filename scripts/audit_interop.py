"""Audit exports checked by a verifier Logbook did not write.

Starts `logbook serve` on SQLite and on PostgreSQL, appends audit events whose times,
numbers and strings are spelled every way a client spells them, exports each trail, and
checks every export with the Python verifier printed in docs/AUDIT-FORMAT.md (RFC 8785
from PyPI's `rfc8785`, Ed25519 from `cryptography`). An edited export must fail it, so
the verifier is shown able to fail.

The events are appended by a server whose clock runs three days behind (libfaketime,
from PyPI), so `logbook maintain --audit-retention-days 1` then cuts the trail: the
export after the cut starts at a signed cut, and the archives of what was cut (zstd,
from PyPI's `zstandard`) are checked by the same verifier.

    python3 scripts/audit_interop.py BINARY [EVENTS]

EVENTS (default 5,000) are appended 50 to a request; 100,000 makes the 2,000-request run
the format was first found wanting on. PostgreSQL comes from LOGBOOK_TEST_DATABASE_URL.
"""

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

from interop_server import Server, fresh_postgres_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_verifier():
    """The verifier exactly as docs/AUDIT-FORMAT.md prints it."""
    with open(os.path.join(ROOT, "docs", "AUDIT-FORMAT.md"), encoding="utf-8") as f:
        doc = f.read()
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    namespace = {"__name__": "audit_format_verifier"}
    exec(compile(code, "docs/AUDIT-FORMAT.md", "exec"), namespace)
    return namespace["verify"]


def days_ago(days):
    """The environment that runs a program with its clock `days` behind."""
    import libfaketime

    _, env = libfaketime.get_reload_information()
    return dict(env, FAKETIME=f"-{days}d", DONT_FAKE_MONOTONIC="1")



# Times as clients write them: whole seconds, whole milliseconds, microseconds,
# nanoseconds (cut to microseconds), and offsets other than Z.
FIXED_TIMES = [
    "2026-11-03T02:05:04Z",
    "2026-11-03T02:46:50.927Z",
    "2026-11-03T02:46:50.922274Z",
    "2026-11-03T02:46:50.9222749Z",
    "2026-11-03T03:46:50.1+01:00",
    "2026-11-03T02:46:50.000000Z",
    "2026-11-02T21:16:50.500-05:30",
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


def append(server, rng, label, first, last):
    requests = 0
    for start in range(first, last, 50):
        batch = [json.dumps(event(rng, i)) for i in range(start, min(start + 50, last))]
        answer = json.loads(server.call("POST", "/api/v1/audit", "\n".join(batch).encode()))
        if answer["rejected"]:
            raise SystemExit(f"{label}: events were refused: {answer['rejected'][:3]}")
        requests += 1
    return requests


def run(binary, label, events, database_url=None):
    verify = load_verifier()
    rng = random.Random(20261204)
    data_dir = tempfile.mkdtemp(prefix="logbook-interop-")
    # Received three days ago, signed every 1,000 events as they went.
    server = Server(binary, data_dir, database_url, clock=days_ago(3))
    try:
        requests = append(server, rng, label, 0, events)
    finally:
        server.stop()
    store = ["--database-url", database_url] if database_url else []
    env = dict(os.environ, LOGBOOK_DATA_DIR=data_dir, LOGBOOK_LOG="warn")
    env.pop("LOGBOOK_DATABASE_URL", None)
    cut = subprocess.run([binary, "maintain", "--retention-days", "90", "--audit-retention-days", "1",
                          *store], env=env, capture_output=True, text=True)
    if cut.returncode != 0 or "1 chains cut" not in cut.stdout:
        raise SystemExit(f"{label}: logbook maintain did not cut the trail: {cut.stdout}{cut.stderr}")
    server = Server(binary, data_dir, database_url, key=server.key)
    try:
        requests += append(server, rng, label, events, events + 100)
        export = server.call("GET", "/api/v1/audit/export")
    finally:
        server.stop()
    path = os.path.join(data_dir, "export.ndjson")
    with open(path, "wb") as f:
        f.write(export)
    lines = export.decode().splitlines()
    header = json.loads(lines[0])
    if "cut" not in header:
        raise SystemExit(f"{label}: the export after the cut does not start at it")
    problem = verify(path, [header["public_key"]])
    if problem:
        raise SystemExit(f"{label}: the independent verifier refused the export: {problem}")
    archived = check_archives(verify, label, data_dir, header["public_key"])
    # A cut whose signature does not hold vouches for nothing.
    forged = path + ".forged-cut"
    bad_header = dict(header, cut=dict(header["cut"], seq=header["cut"]["seq"] - 1))
    with open(forged, "w", encoding="utf-8") as f:
        f.write("\n".join([json.dumps(bad_header)] + lines[1:]) + "\n")
    if not verify(forged, [header["public_key"]]):
        raise SystemExit(f"{label}: the verifier accepted a cut that was altered")
    # The archives and the export, as one chain from the first event.
    import glob

    archives = glob.glob(os.path.join(data_dir, "archive", "*", "audit", "*", "audit*.ndjson.zst"))
    whole = subprocess.run([binary, "verify", *archives, path, "--public-key", header["public_key"]],
                           capture_output=True, text=True)
    if whole.returncode != 0 or json.loads(whole.stdout)["first_seq"] != 1:
        raise SystemExit(f"{label}: logbook verify refused the archives with the export: {whole.stdout}{whole.stderr}")
    whole_ms = sum(1 for line in lines[1:] if re.search(r'"received_at":"[^"]*\.\d{3}000Z"', line))
    # An edited export must fail: the verifier can say no.
    edited = path + ".edited"
    with open(edited, "w", encoding="utf-8") as f:
        edited_text = export.decode().replace(f'"resource_id":"d-{events + 7}"', '"resource_id":"d-8"', 1)
        if edited_text == export.decode():
            raise SystemExit(f"{label}: the export holds no event d-{events + 7} to edit")
        f.write(edited_text)
    if not verify(edited, [header["public_key"]]):
        raise SystemExit(f"{label}: the verifier accepted an edited export")
    result = subprocess.run([binary, "verify", path, "--public-key", header["public_key"]],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{label}: logbook verify refused what the independent verifier accepted: {result.stderr}")
    print(f"audit interop, {label}: {header['to_seq']} events appended in {requests} requests, "
          f"{whole_ms} received on a whole millisecond; cut after seq {header['cut']['seq']}, "
          f"{archived} events in its archives; the independent verifier and logbook verify agree: ok")


def check_archives(verify, label, data_dir, key):
    """Every archive of the cut trail, decompressed, checked by the verifier; the events
    they hold, counted."""
    import glob

    import zstandard

    files = sorted(glob.glob(os.path.join(data_dir, "archive", "*", "audit", "*", "audit*.ndjson.zst")))
    if not files:
        raise SystemExit(f"{label}: the cut left no archive")
    events = 0
    for archive in files:
        plain = archive[: -len(".zst")]
        with open(archive, "rb") as source, open(plain, "wb") as target:
            zstandard.ZstdDecompressor().copy_stream(source, target)
        problem = verify(plain, [key])
        if problem:
            raise SystemExit(f"{label}: the independent verifier refused {archive}: {problem}")
        with open(plain, encoding="utf-8") as f:
            events += sum(1 for line in f if '"type":"event"' in line)
    return events


def main():
    binary = sys.argv[1]
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    run(binary, "sqlite", events)
    run(binary, "postgres", events, fresh_postgres_url())

if __name__ == "__main__":
    main()
