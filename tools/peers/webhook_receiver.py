#!/usr/bin/env python3
"""Webhook receiver for tests: verifies Standard Webhooks signatures and logs every request.

Listens on 127.0.0.1 and accepts POST to any path. The signature (headers webhook-id,
webhook-timestamp, webhook-signature) is checked with the `standardwebhooks` package from PyPI.
Prints `PORT <n>` as the first line on stdout once listening. SIGTERM or SIGINT stops it.

Options:
    --port P                 port to listen on; 0 (the default) picks a free one
    --secret whsec_...       the shared signing secret (required)
    --log FILE               append one JSON line per request, fsync'ed before the response is sent:
                             {"id", "timestamp", "verified", "status", "killed", "path", "body"}
    --no-timestamp-check     check the signature only, not that the timestamp is within 5 minutes
                             of this machine's clock (for senders running on an injected clock)
    --fail-first N           answer 500 to the first N verified attempts of each webhook-id, then 200
    --status CODE            answer CODE to every verified request (e.g. 410, 429, 503)
    --retry-after SECONDS    with --status: send this Retry-After header
    --kill-pid-file F        with --kill-every K: on every K-th request (counting all, from 1), SIGKILL
    --kill-every K             the pid in F, log "status": null, "killed": true, and close the
                               connection without answering; answers normally if F is missing or
                               the pid is gone

A request whose signature does not verify gets 401. Success is 200 with body {"ok":true}.
Run with the project's virtual environment:
    .venv/bin/python tools/peers/webhook_receiver.py --secret whsec_... --log /tmp/hooks.jsonl
"""
import argparse
import base64
import hmac
import json
import os
import signal
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


def signature_ok(webhook, body, headers, check_timestamp):
    """True when one of the v1 signatures matches. Never raises on malformed headers."""
    try:
        if check_timestamp:
            webhook.verify(body, headers, json_parse=False)
            return True
        msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
        when = datetime.fromtimestamp(float(timestamp), tz=timezone.utc)
        expected = base64.b64decode(webhook.sign(msg_id, when, body.decode()).split(",", 1)[1])
        for entry in headers["webhook-signature"].split(" "):
            version, _, signature = entry.partition(",")
            if version == "v1" and hmac.compare_digest(expected, base64.b64decode(signature)):
                return True
        return False
    except Exception:
        return False


class State:
    def __init__(self, args):
        self.args = args
        self.webhook = Webhook(args.secret)
        self.lock = threading.Lock()
        self.requests = 0      # all requests received, for --kill-every
        self.attempts = {}     # webhook-id -> answered verified attempts, for --fail-first
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None

    def write_log(self, record):
        if self.log is None:
            return
        with self.lock:
            self.log.write(json.dumps(record) + "\n")
            self.log.flush()
            os.fsync(self.log.fileno())

    def kill_sender(self):
        """SIGKILLs the pid in --kill-pid-file; False when there is no such file or process."""
        try:
            with open(self.args.kill_pid_file) as f:
                os.kill(int(f.read().strip()), signal.SIGKILL)
            return True
        except (OSError, ValueError):
            return False


class Handler(BaseHTTPRequestHandler):
    server_version = "rgis-webhook-receiver"
    state = None  # set in main()

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers, then the empty line
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_POST(self):
        state, args = self.state, self.state.args
        body = self.read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified = signature_ok(state.webhook, body, headers, not args.no_timestamp_check)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        record = {"id": headers.get("webhook-id"), "timestamp": headers.get("webhook-timestamp"),
                  "verified": verified, "status": None, "killed": False, "path": self.path, "body": parsed}

        with state.lock:
            state.requests += 1
            kill_turn = args.kill_every and state.requests % args.kill_every == 0
        if kill_turn and state.kill_sender():
            record["killed"] = True
            state.write_log(record)
            self.close_connection = True
            return

        extra = {}
        if not verified:
            status = 401
        elif args.status:
            status = args.status
            if args.retry_after is not None:
                extra["Retry-After"] = args.retry_after
        else:
            with state.lock:
                attempt = state.attempts.get(record["id"], 0) + 1
                state.attempts[record["id"]] = attempt
            status = 500 if attempt <= args.fail_first else 200
        record["status"] = status
        state.write_log(record)

        payload = b'{"ok":true}' if status == 200 else json.dumps({"ok": False, "status": status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    def log_message(self, format, *args):
        pass  # the JSON log is the record; keep stderr quiet


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log")
    parser.add_argument("--no-timestamp-check", action="store_true")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--status", type=int)
    parser.add_argument("--retry-after")
    parser.add_argument("--kill-pid-file")
    parser.add_argument("--kill-every", type=int, default=0)
    args = parser.parse_args()
    if bool(args.kill_pid_file) != bool(args.kill_every):
        parser.error("--kill-pid-file and --kill-every go together")

    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=server.shutdown).start()  # shutdown() waits for serve_forever()

    # A parent may have blocked these (children inherit the mask); unblock them so that SIGTERM stops us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
