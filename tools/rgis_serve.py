"""`rgis serve` started for a check script: on a free port, its address read from its first lines.

    proc, url = rgis_serve.start(binary, database, "--no-notify", ...)

The server's log is drained on a thread of its own, so that it never blocks on a full pipe.
"""
import re
import subprocess
import threading
import time


def start(binary, database, *options, timeout_s=60):
    proc = subprocess.Popen([binary, "serve", database, "--port", "0", *options],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen, deadline = "", time.time() + timeout_s
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
        found = re.search(r"at (http://[0-9.]+:[0-9]+)/", line)
        if found:
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, found.group(1)
    proc.kill()
    raise RuntimeError(f"rgis serve did not start: {seen}")
