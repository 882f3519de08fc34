"""The official Sentry Python SDK (sentry-sdk) pointed at a Logbook DSN.

Starts `logbook serve` on SQLite and on PostgreSQL, and from this process captures 300
exceptions of three kinds through the SDK's own transport (envelopes, gzip, the key in
X-Sentry-Auth): each kind's message varies per occurrence, and each kind happens to a
different number of users. Logbook must show three groups with the right counts and
affected users; a group resolved through the API and raised again must reopen.

Usage: sentry_interop.py path/to/logbook
"""

import json
import sys
import tempfile

import sentry_sdk

from interop_server import Server, fresh_postgres_url

# (exception, users it happens to): 100 occurrences each.
KINDS = [(KeyError, 7), (ValueError, 13), (ZeroDivisionError, 0)]


def fail(kind, i):
    if kind is KeyError:
        raise KeyError(f"order {1000 + i} not found")
    if kind is ValueError:
        raise ValueError(f"amount {i}.50 is not allowed")
    return i / 0


def capture(kind, i, users):
    with sentry_sdk.new_scope() as scope:
        if users:
            scope.set_user({"id": f"user-{i % users}"})
        try:
            fail(kind, i)
        except Exception:
            sentry_sdk.capture_exception()


def groups(server):
    answer = json.loads(server.call("GET", "/api/v1/errors?sort=occurrences&limit=10"))
    return {g["error_type"]: g for g in answer["items"]}


def run(binary, label, database_url=None):
    with tempfile.TemporaryDirectory() as data_dir:
        server = Server(binary, data_dir, database_url)
        try:
            sentry_sdk.init(
                dsn=f"http://{server.key}@127.0.0.1:{server.port}/42",
                environment="production",
                default_integrations=False,
                auto_session_tracking=False,
            )
            for i in range(300):
                kind, users = KINDS[i % 3]
                capture(kind, i, users)
                if i % 50 == 49:
                    # The SDK's queue holds 100 events; it drops what does not fit.
                    sentry_sdk.flush(timeout=30)
            sentry_sdk.flush(timeout=30)
            found = groups(server)
            summary = {t: (g["occurrence_count"], g["affected_users"], g["status"], g["service"])
                       for t, g in found.items()}
            expected = {"KeyError": (100, 7, "new", "42"), "ValueError": (100, 13, "new", "42"),
                        "ZeroDivisionError": (100, 0, "new", "42")}
            if summary != expected:
                raise SystemExit(f"sentry interop, {label}: groups {summary}, expected {expected}")
            key_error = found["KeyError"]
            if key_error["culprit"] != "__main__:fail" or key_error["environments"] != ["production"]:
                raise SystemExit(f"sentry interop, {label}: culprit or environments wrong: {key_error}")

            path = f"/api/v1/errors/{key_error['id']}"
            server.call("PATCH", path, json.dumps({"status": "resolved"}).encode(), "application/json")
            capture(KeyError, 7, 7)
            sentry_sdk.flush(timeout=30)
            again = json.loads(server.call("GET", path))
            seen = (again["status"], again["occurrence_count"], again["times_regressed"])
            if seen != ("new", 101, 1):
                raise SystemExit(f"sentry interop, {label}: after resolve and raise: {seen}")
            trace = again["recent"][0]["metadata"]["error"]["stack_trace"]
            if "in fail" not in trace or "KeyError" not in trace:
                raise SystemExit(f"sentry interop, {label}: stack trace lost: {trace}")
        finally:
            sentry_sdk.get_client().close()
            server.stop()
    print(f"sentry interop, {label}: 301 exceptions from sentry-sdk {sentry_sdk.VERSION} "
          "became 3 groups with their counts and users; resolved, raised again, reopened: ok")


def main():
    binary = sys.argv[1]
    run(binary, "sqlite")
    run(binary, "postgres", fresh_postgres_url())


if __name__ == "__main__":
    main()
