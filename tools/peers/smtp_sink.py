#!/usr/bin/env python3
"""SMTP sink for tests: accepts mail on 127.0.0.1 with aiosmtpd and logs every accepted message.

Prints `PORT <n>` as the first line on stdout once listening. SIGTERM or SIGINT stops it.

Options:
    --port P                   port to listen on; 0 (the default) picks a free one
    --log FILE                 append one JSON line per accepted message, fsync'ed before the 250:
                               {"mail_from", "rcpt_tos", "data", "peer", "auth_user", "tls"}
    --reject ADDR=CODE         (repeatable) answer RCPT TO:<ADDR> with CODE, e.g. 550 or 450;
                               CODE may carry its own text: --reject 'a@b=552 5.2.2 mailbox full'
    --tempfail-first N         answer "451 4.3.0 try again later" to the DATA of the first N transactions
    --auth USER:PASSWORD       require AUTH PLAIN or LOGIN before MAIL (535 on wrong credentials);
                               allowed without TLS unless --require-tls
    --auth-only PLAIN|LOGIN    offer only this AUTH mechanism
    --tls-cert CERT --tls-key KEY   offer STARTTLS with this certificate
    --require-tls              refuse everything but EHLO, NOOP, STARTTLS and QUIT before STARTTLS,
                               and AUTH until TLS is up

Run with the project's virtual environment:
    .venv/bin/python tools/peers/smtp_sink.py --log /tmp/mail.jsonl --auth rgis:secret
"""
import argparse
import json
import logging
import os
import signal
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, sslproto, TLSSetupException


class Sink:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.reject = {}
        for item in args.reject:
            address, _, code = item.rpartition("=")
            if not address or not code[:3].isdigit() or code[0] not in "45":
                sys.exit(f"smtp_sink: --reject wants ADDR=CODE with a 4xx or 5xx code, not {item!r}")
            if len(code) == 3:
                code += " 5.1.1 mailbox unavailable" if code[0] == "5" else " 4.2.1 mailbox busy, try later"
            self.reject[address.lower()] = code
        self.tempfails_left = args.tempfail_first
        self.user, self.password = (args.auth.split(":", 1) + [""])[:2] if args.auth else (None, None)

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (mechanism in ("PLAIN", "LOGIN")
              and auth_data.login.decode("utf-8", "replace") == self.user
              and auth_data.password.decode("utf-8", "replace") == self.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return self.reject[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.tempfails_left > 0:
                self.tempfails_left -= 1
                return "451 4.3.0 try again later"
        auth = session.auth_data if session.authenticated else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", errors="replace"),
            "peer": "%s:%s" % tuple(session.peer[:2]),
            "auth_user": auth.login.decode("utf-8", "replace") if auth else None,
            "tls": session.ssl is not None,
        }
        if self.log is not None:
            with self.lock:
                self.log.write(json.dumps(record) + "\n")
                self.log.flush()
                os.fsync(self.log.fileno())
        return "250 OK message accepted"


class StartTLSWithoutRace(SMTP):
    """aiosmtpd awaits between writing "220 Ready to start TLS" and switching the socket to TLS, so a
    client's TLS hello that arrives in that moment goes to the SMTP parser and the handshake hangs
    (likely on a loaded machine). Here the 220 is written and the socket switched with no await between."""

    async def smtp_STARTTLS(self, arg):
        if arg:
            await self.push("501 Syntax: STARTTLS")
            return
        if not self.tls_context:
            await self.push("454 TLS not available")
            return
        self.transport.write(b"220 Ready to start TLS\r\n")
        waiter = self.loop.create_future()
        self._tls_protocol = sslproto.SSLProtocol(self.loop, self, self.tls_context, waiter, server_side=True)
        self._original_transport = self.transport
        self._original_transport.set_protocol(self._tls_protocol)
        self.transport = self._tls_protocol._app_transport
        self._tls_protocol.connection_made(self._original_transport)
        try:
            await waiter
        except Exception as error:
            raise TLSSetupException() from error


class LocalController(Controller):
    def factory(self):
        return StartTLSWithoutRace(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self):
        # With port 0 the kernel chooses; learn which before the controller's readiness probe.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log")
    parser.add_argument("--reject", action="append", default=[], metavar="ADDR=CODE")
    parser.add_argument("--tempfail-first", type=int, default=0)
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    parser.add_argument("--auth-only", choices=["PLAIN", "LOGIN"], help="offer only this AUTH mechanism")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--require-tls", action="store_true")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.require_tls and not args.tls_cert:
        parser.error("--require-tls needs --tls-cert and --tls-key")

    # aiosmtpd warns about AUTH without TLS and about its deprecated Session.login_data on every
    # successful AUTH; neither matters for a test peer.
    warnings.filterwarnings("ignore", module="aiosmtpd")
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    sink = Sink(args)
    # aiosmtpd drops a session silent for 300 s; a test machine running many suites at once can leave a
    # client that long between two commands, so a test peer waits an hour.
    options = dict(server_hostname="localhost", tls_context=tls_context, require_starttls=args.require_tls, timeout=3600)
    if args.auth:
        options.update(authenticator=sink.authenticate, auth_required=True, auth_require_tls=args.require_tls)
        if args.auth_only:
            options.update(auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m != args.auth_only])
    controller = LocalController(sink, hostname="127.0.0.1", port=args.port, **options)
    stopping = threading.Event()
    # A parent may have blocked these (children inherit the mask); unblock them so that SIGTERM stops us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    controller.start()
    print(f"PORT {controller.port}", flush=True)
    while not stopping.wait(1):
        pass
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
