"""An alert rule's notifications arriving at real receivers.

Starts a real SMTP server (aiosmtpd) and an HTTP receiver on loopback, then `logbook serve`
on SQLite and on PostgreSQL with --smtp-url pointing at the SMTP server. A rule "≥ 10
AUTH_FAILURE per IP in 5 minutes → webhook + e-mail" (evaluated every second) must fire
once after the tenth failure from one address: one webhook whose X-Logbook-Signature
verifies against its raw body with the rule's secret, and one e-mail at the SMTP server.
Nine failures from another address must raise nothing. The time from the tenth failure
to each notification is printed, not asserted.

Usage: alerts_interop.py path/to/logbook
"""

import hashlib
import hmac
import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from interop_server import Server, free_port, fresh_postgres_url

SECRET = "interop-secret"


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((time.monotonic(), envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


def webhook_receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((time.monotonic(), dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def failures(ip, n):
    return "\n".join(json.dumps({"event_type": "AUTH_FAILURE", "ip_address": ip, "success": False,
                                 "user_id": f"u{i}", "message": "bad password"})
                     for i in range(n)).encode()


def wait_for(what, condition, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise SystemExit(f"FAIL: {what}")


def run(binary, database_url, label):
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    hooks, received = webhook_receiver()
    with tempfile.TemporaryDirectory() as data_dir:
        server = Server(binary, data_dir, database_url,
                        clock={"LOGBOOK_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
                               "LOGBOOK_SMTP_FROM": "Logbook <alerts@example.test>"})
        try:
            rule = {
                "name": "failed logins per address", "severity": "error",
                "metric_name": "event_count", "comparison_operator": "gte", "threshold": 10,
                "filter": {"event_type": "AUTH_FAILURE"}, "group_by": "ip_address",
                "window_minutes": 5, "evaluation_interval": 1,
                "channels": [
                    {"type": "webhook", "url": f"http://127.0.0.1:{hooks.server_port}/hook",
                     "secret": SECRET},
                    {"type": "email", "to": ["ops@example.test"]},
                ],
            }
            server.call("POST", "/api/v1/alerts/rules", json.dumps(rule).encode(), "application/json")
            server.call("POST", "/api/v1/events", failures("198.51.100.7", 9))
            server.call("POST", "/api/v1/events", failures("203.0.113.9", 9))
            time.sleep(2.5)
            if received or mailbox.messages:
                raise SystemExit(f"FAIL ({label}): notified below the threshold")
            server.call("POST", "/api/v1/events", failures("203.0.113.9", 1))
            tenth = time.monotonic()
            wait_for(f"({label}) a webhook after the tenth failure", lambda: received)
            wait_for(f"({label}) an e-mail after the tenth failure", lambda: mailbox.messages)
            # Two more evaluation intervals: still exactly one of each.
            time.sleep(2.5)
            if len(received) != 1 or len(mailbox.messages) != 1:
                raise SystemExit(f"FAIL ({label}): {len(received)} webhooks and "
                                 f"{len(mailbox.messages)} e-mails, not one of each")
            at, headers, body = received[0]
            headers = {k.lower(): v for k, v in headers.items()}
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(headers.get("x-logbook-signature", ""), expected):
                raise SystemExit(f"FAIL ({label}): the webhook signature does not verify")
            alert = json.loads(body)["alert"]
            if json.loads(body)["kind"] != "triggered" or alert["group"] != "203.0.113.9":
                raise SystemExit(f"FAIL ({label}): unexpected webhook {body!r}")
            mail_at, rcpt, content = mailbox.messages[0]
            if rcpt != ["ops@example.test"] or "failed logins per address" not in content:
                raise SystemExit(f"FAIL ({label}): unexpected e-mail to {rcpt}: {content[:300]}")
            acked = json.loads(server.call("POST", f"/api/v1/alerts/{alert['id']}/acknowledge",
                                           b'{"note": "blocked"}', "application/json"))
            if acked["status"] != "acknowledged":
                raise SystemExit(f"FAIL ({label}): acknowledge answered {acked}")
            print(f"{label}: fired once; webhook {at - tenth:.2f} s and e-mail "
                  f"{mail_at - tenth:.2f} s after the tenth failure; signature verified")
        finally:
            server.stop()
            hooks.shutdown()
            smtp.stop()


def main():
    binary = sys.argv[1]
    run(binary, None, "sqlite")
    run(binary, fresh_postgres_url(), "postgres")


if __name__ == "__main__":
    main()
