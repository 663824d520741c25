#!/usr/bin/python3
"""Stored-XSS check of a running RGIS server: hostile values planted through the API, then every page
that shows them opened in headless Chromium (driven over the DevTools protocol), its popups and
tooltips opened, and the result inspected.

    tools/xss_check.py --url http://127.0.0.1:PORT --agent-token T --planner-token T --regulator-token T [--admin-token T]
                       [--chromium chromium] [--timeout 60] [--keep]

Planted (each value carries classic payloads that would set window.__pwned or document.title if run,
and a run tag so that this run's values are found as text):
- a listing (POST /collections/listings/items, as the agent) with a hostile `address`, hostile values
  in unknown properties and a hostile property NAME, at a place with no other listing near it;
- a client (POST /clients) whose contact name is hostile, and a demand of that client around the
  listing (with a hostile unknown property), so that the listing is among its matches;
- an archive transfer (POST /archive/events, as the regulator) with a hostile `party_name` and
  `document`, on the archive's first parcel (an easement of a 1/1000 share: repeated runs never fill
  a parcel's shares). Archive events cannot be deleted: the transfer stays.
- hostile ids for a listing (as the Feature's id and as a property `id`), a client, a demand and an
  archive party: each must be refused with 422 and create nothing.

Opened (a fresh tab each, Page/Runtime/Log/Network domains on a flattened session):
- the HTML items page around the listing and its feature page (`f=html`): the id's tooltip hovered
  with the mouse;
- /map as the agent (token in the `#agent&token=` fragment): zoomed to the listing, its marker clicked
  with the mouse (the popup then shows the whole listing), a radius search clicked around it, the
  hostile client chosen in the client list and its demand chosen (matches and their popups);
- /map#planner and /map#regulator (the hostile parcel clicked: its rights popup);
- the archive's HTML items and version pages as the regulator (Authorization header), where rights
  and party names are shown.
On each, every popup and tooltip of every layer (map layers and the page's layer groups, recursively)
is opened, content functions included.

Checked on each page: window.__pwned undefined and document.title as served; no element made from a
payload (iframes, objects, scripts other than the page's own, images not from /static, on* handler
attributes, javascript: URLs, srcdoc, payload text inside an attribute), in the page and inside each
popup and tooltip as it was open; no request to the payloads' `x` image; no Content-Security-Policy
violation (console, Log, Runtime and a securitypolicyviolation listener installed before the page's
scripts); no script errors (exceptions, body data-errors); the payload text IS shown as text where the
page shows it (so an empty page cannot pass); the page's response has Content-Security-Policy whose
script-src has no 'unsafe-inline' (nor 'unsafe-eval'), frame-ancestors 'none', X-Content-Type-Options:
nosniff and a Referrer-Policy.

Prints one line per check (`ok   …` / `FAIL …`) and exits 1 when any fails. The planted listing, demand
and client are deleted at the end unless --keep.
"""
import argparse
import fcntl
import html
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)
    return condition


def note(message):
    print("     " + message, flush=True)


# ---------------------------------------------------------------------------------------------------
# Payloads

def payloads(tag):
    """Classic payloads, each of which sets window.__pwned or document.title if it ever runs. Every one
    carries MARK (PWN + the run tag), so that it is found as text and never confused with an id."""
    mark = f"PWN{tag}"
    return mark, {
        "img": f"<img src=x onerror=\"window.__pwned='img';document.title='PWNED'\"> {mark}-img",
        "svg": f"\"><svg onload=\"window.__pwned='svg'\"> {mark}-svg",
        "script": f"</script><script>window.__pwned='script';document.title='PWNED'</script> {mark}-script",
        "js_url": f"javascript:window.__pwned='js-url';document.title='PWNED'//{mark}-js-url",
        "iframe": f"<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe> {mark}-iframe",
        "attr": f"' autofocus onfocus='window.__pwned=`attr`' x='><a href=\"javascript:window.__pwned='a'\">{mark}-attr</a>",
    }


# ---------------------------------------------------------------------------------------------------
# HTTP

class Api:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def request(self, method, path, token=None, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw = r.read()
                return r.status, dict((k.lower(), v) for k, v in r.headers.items()), raw
        except urllib.error.HTTPError as error:
            return error.code, dict((k.lower(), v) for k, v in error.headers.items()), error.read()

    def json(self, method, path, token=None, body=None):
        status, headers, raw = self.request(method, path, token, body)
        try:
            value = json.loads(raw) if raw else None
        except ValueError:
            value = raw.decode(errors="replace")
        return status, value


def header_checks(name, headers):
    """The security headers of a response (names lower-case)."""
    csp = headers.get("content-security-policy", "")
    directives = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = [w.lower() for w in words[1:]]
    script = directives.get("script-src", directives.get("default-src"))
    check(bool(csp) and script is not None and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script,
          f"{name}: Content-Security-Policy script-src {' '.join(script) if script else '(missing)'} (no 'unsafe-inline', no 'unsafe-eval')")
    check(directives.get("frame-ancestors") == ["'none'"], f"{name}: CSP frame-ancestors {directives.get('frame-ancestors')}")
    check(headers.get("x-content-type-options", "").lower() == "nosniff",
          f"{name}: X-Content-Type-Options: {headers.get('x-content-type-options')}")
    check(bool(headers.get("referrer-policy")), f"{name}: Referrer-Policy: {headers.get('referrer-policy')}")


# ---------------------------------------------------------------------------------------------------
# Chromium over the DevTools protocol (--remote-debugging-pipe: we write fd 3, read fd 4; NUL-ended JSON)

class CDPError(Exception):
    pass


class Browser:
    def __init__(self, binary="chromium", width=1280, height=900):
        self.profile = tempfile.mkdtemp(prefix="xss-check-chromium-")
        to_child_r, self.wfd = os.pipe()
        self.rfd, from_child_w = os.pipe()
        # The child's ends, above 4, so that dup2 onto 3 and 4 in the child clobbers nothing.
        child_in = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def fds():
            os.dup2(child_in, 3)   # dup2 leaves 3 and 4 inheritable; every other pipe end is close-on-exec
            os.dup2(child_out, 4)

        self.stderr = open(os.path.join(self.profile, "chromium.log"), "wb")
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio", "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr, close_fds=False,
                                     preexec_fn=fds, start_new_session=True)
        os.close(child_in)
        os.close(child_out)
        self.next_id = 0
        self.responses = {}
        self.events = []          # (sessionId, method, params), in arrival order
        self.queue = queue.Queue()
        self.lock = threading.Lock()
        threading.Thread(target=self._reader, daemon=True).start()
        self.call("Browser.getVersion", timeout=30)

    def _reader(self):
        buffer = bytearray()
        while True:
            try:
                chunk = os.read(self.rfd, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                self.queue.put(None)
                return
            buffer += chunk
            while True:
                end = buffer.find(b"\0")
                if end < 0:
                    break
                message = bytes(buffer[:end])
                del buffer[:end + 1]
                try:
                    self.queue.put(json.loads(message))
                except ValueError:
                    pass

    def _send(self, method, params=None, session=None):
        with self.lock:
            self.next_id += 1
            mid = self.next_id
        message = {"id": mid, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self.wfd, data):]
        return mid

    def pump(self, timeout):
        """Takes in what the browser sent within timeout seconds (at least one message if any arrives)."""
        try:
            message = self.queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return
        while message is not None:
            if "id" in message:
                self.responses[message["id"]] = message
            else:
                session, method, params = message.get("sessionId"), message.get("method"), message.get("params", {})
                self.events.append((session, method, params))
                if method == "Page.javascriptDialogOpening" and session:
                    # A dialog means script ran; it is recorded (above) and dismissed so the page goes on.
                    self._send("Page.handleJavaScriptDialog", {"accept": False}, session)
            try:
                message = self.queue.get_nowait()
            except queue.Empty:
                return
        raise CDPError("the browser closed its pipe")

    def call(self, method, params=None, session=None, timeout=60):
        mid = self._send(method, params, session)
        deadline = time.monotonic() + timeout
        while mid not in self.responses:
            if time.monotonic() > deadline:
                raise CDPError(f"{method}: no answer in {timeout} s")
            self.pump(min(0.5, deadline - time.monotonic()))
        response = self.responses.pop(mid)
        if "error" in response:
            raise CDPError(f"{method}: {response['error'].get('message')} {response['error'].get('data', '')}")
        return response.get("result", {})

    def close(self):
        try:
            self._send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:
            pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 15)   # the group we started (start_new_session): chromium and its helpers
                self.proc.wait(timeout=10)
            except Exception:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=10)
            except Exception:
                pass
        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


# Runs in every document before its own scripts (DevTools' injection is not subject to the page's CSP).
INIT_SCRIPT = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || '') + ' ' + (e.sample || '') + ' at ' + (e.sourceFile || '') + ':' + (e.lineNumber || ''));
});
"""

# In-page helpers, defined on demand: the scan for elements a payload made, and the opener of popups
# and tooltips. LAYER_NAMES are the page scripts' top-level layer groups (lexical globals).
LAYER_NAMES = ["listingsLayer", "backdrop", "resultsLayer", "plannerLayer", "demandLayer", "archiveLayer", "layer"]

HELPERS = r"""
(() => {
  if (window.__xss) return true;
  const MARK = %(mark)s;
  const benignAttributes = new Set(['title', 'alt', 'aria-label', 'value', 'placeholder']);
  const ownScript = (s) => {
    if (s.src) { try { const u = new URL(s.src, location.href); return u.origin === location.origin && u.pathname.startsWith('/static/'); } catch (e) { return false; } }
    return s.type === 'application/json' && s.id === 'map-data';
  };
  const ownImage = (src) => { if (src.startsWith('data:')) return true; try { const u = new URL(src, location.href); return u.origin === location.origin && u.pathname.startsWith('/static/'); } catch (e) { return false; } };
  const scan = (root) => {
    const found = [];
    if (!root) return found;
    const nodes = root.querySelectorAll ? [root, ...root.querySelectorAll('*')] : [];
    for (const n of nodes) {
      const tag = (n.localName || '').toLowerCase();
      const what = (why) => found.push(why + ': ' + (n.outerHTML || '').slice(0, 200));
      if (['iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'portal', 'base', 'foreignobject', 'animate', 'set',
           'animatetransform', 'animatemotion', 'handler', 'listener'].includes(tag)) what('a <' + tag + '> element');
      if (tag === 'script' && !ownScript(n)) what('a script the page does not serve');
      if (tag === 'img' && !ownImage(n.getAttribute('src') || '')) what('an image not from /static');
      if (tag === 'meta' && n.hasAttribute('http-equiv')) what('a meta http-equiv');
      if (tag === 'style' && (n.textContent || '').includes(MARK)) what('a style element holding a payload');
      for (const a of Array.from(n.attributes || [])) {
        const name = a.name.toLowerCase(), value = a.value || '';
        if (name.startsWith('on')) what('an event handler attribute ' + name);
        else if (name === 'srcdoc') what('a srcdoc attribute');
        else if (/^\s*(javascript|vbscript|data:text\/html)/i.test(value) && /(^|:)(href|src|action|formaction|data|to|values|from|by|xlink:href|background|poster|cite)$/.test(name))
          what('a script URL in ' + name);
        else if (value.includes(MARK) && !benignAttributes.has(name) && !name.startsWith('data-') && !name.startsWith('aria-'))
          what('payload text inside the attribute ' + name);
      }
    }
    return found;
  };
  const layerGroups = () => [%(groups)s];
  const allLayers = () => {
    const seen = new Set(), out = [];
    const walk = (l) => { if (!l || seen.has(l)) return; seen.add(l); out.push(l); if (typeof l.eachLayer === 'function') l.eachLayer(walk); };
    if (typeof map !== 'undefined' && map && map.eachLayer) map.eachLayer(walk);
    for (const g of layerGroups()) walk(g);
    return out;
  };
  const content = (x) => { const e = x && x.getElement && x.getElement(); return e ? e.textContent : null; };
  // Opens every popup and tooltip (content functions are called by Leaflet as they open), keeping each
  // one's text and what the scan finds in it while it is in the page.
  const openAll = () => {
    const result = { popups: [], tooltips: [], found: [], errors: [], layers: 0, skipped: 0 };
    if (typeof map === 'undefined' || !map) return result;
    const layers = allLayers();
    result.layers = layers.length;
    for (const l of layers) {
      const onMap = map.hasLayer(l);
      const popup = l.getPopup && l.getPopup();
      if (popup) {
        if (!onMap) { result.skipped++; } else {
          try {
            popup.options.autoPan = false;
            l.openPopup();
            result.popups.push(content(popup));
            result.found.push(...scan(popup.getElement()));
            l.closePopup();
          } catch (e) { result.errors.push('popup: ' + e); }
        }
      }
      const tooltip = l.getTooltip && l.getTooltip();
      if (tooltip) {
        if (!onMap) { result.skipped++; } else {
          try {
            l.openTooltip();
            result.tooltips.push(content(tooltip));
            result.found.push(...scan(tooltip.getElement()));
            if (!tooltip.options.permanent) l.closeTooltip();
          } catch (e) { result.errors.push('tooltip: ' + e); }
        }
      }
    }
    return result;
  };
  window.__xss = { scan, allLayers, openAll, content };
  return true;
})()
"""


class Page:
    """One tab: a flattened session with Page, Runtime, Log and Network enabled."""

    def __init__(self, browser, mark, headers=None):
        self.b = browser
        self.mark = mark
        self.target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.call("Target.attachToTarget", {"targetId": self.target, "flatten": True})["sessionId"]
        for domain in ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"]:
            self.call(domain)
        self.call("Page.addScriptToEvaluateOnNewDocument", {"source": INIT_SCRIPT})
        if headers:
            self.call("Network.setExtraHTTPHeaders", {"headers": headers})
        self.first_event = len(browser.events)

    def call(self, method, params=None, timeout=60):
        return self.b.call(method, params, self.session, timeout)

    def events(self, method=None):
        return [(m, p) for s, m, p in self.b.events[self.first_event:] if s == self.session and (method is None or m == method)]

    def navigate(self, url, timeout=60):
        self.url = url
        since = len(self.b.events)
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CDPError(f"navigate {url}: {result['errorText']}")
        self.loader = result.get("loaderId")
        deadline = time.monotonic() + timeout
        while not any(s == self.session and m == "Page.loadEventFired" for s, m, _ in self.b.events[since:]):
            if time.monotonic() > deadline:
                raise CDPError(f"{url}: no load event in {timeout} s")
            self.b.pump(0.2)
        self.helpers()

    def helpers(self):
        groups = ", ".join(f"(typeof {n} !== 'undefined' ? {n} : null)" for n in LAYER_NAMES)
        self.evaluate(HELPERS % {"mark": json.dumps(self.mark), "groups": groups})

    def evaluate(self, expression, timeout=60):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True,
                                                "userGesture": True}, timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"evaluate: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout=60):
        """Polls a page expression until it is truthy; returns its value (or None after timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except CDPError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                return None
            self.b.pump(0.25)

    def settle(self, seconds=0.5):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.b.pump(deadline - time.monotonic())

    def mouse(self, x, y, click=True):
        self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        if click:
            self.call("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x, "y": y, "button": "left", "clickCount": 1})
            self.call("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x, "y": y, "button": "left", "clickCount": 1})

    def point_of(self, latlng_expression):
        """The viewport point of a [lat, lon] page expression on the page's map."""
        return self.evaluate(f"""(() => {{ const ll = {latlng_expression}; const p = map.latLngToContainerPoint(ll);
            const r = map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }})()""")

    def document_headers(self):
        for method, params in self.events("Network.responseReceived"):
            if params.get("type") == "Document" and (params.get("loaderId") == self.loader or params.get("response", {}).get("url", "").split("#")[0] == self.url.split("#")[0]):
                return {k.lower(): v for k, v in params["response"].get("headers", {}).items()}
        return None

    def close(self):
        try:
            self.b.call("Target.closeTarget", {"targetId": self.target}, timeout=10)
        except CDPError:
            pass


def final_checks(page, name, served_title, expectations, opened):
    """The checks every page gets, after its interactions. expectations: (what, kind, selector-or-None, text)
    with kind 'dom' (an element matching selector has the text in its textContent) or 'popup' (an opened
    popup or tooltip has it)."""
    state = page.evaluate("""(() => ({ pwned: typeof window.__pwned === 'undefined' ? null : String(window.__pwned),
        title: document.title, errors: document.body ? (document.body.dataset.errors || null) : null,
        csp: window.__cspViolations || [], found: window.__xss.scan(document.documentElement),
        iframes: document.querySelectorAll('iframe, frame').length, frames: window.frames.length }))()""")
    check(state["pwned"] is None, f"{name}: window.__pwned is undefined" + (f" (it is {state['pwned']!r})" if state["pwned"] else ""))
    check(state["title"] == served_title and "PWNED" not in state["title"], f"{name}: document.title unchanged ({state['title']!r})")
    found = state["found"] + (opened or {}).get("found", [])
    found = sorted(set(found))
    check(not found, f"{name}: no element or attribute made from a payload" + (f" ({len(found)} found): " + " | ".join(found[:10]) if found else ""))
    check(state["frames"] == 0, f"{name}: no frames in the page ({state['frames']})")
    requested = [p["request"]["url"] for m, p in page.events("Network.requestWillBeSent")
                 if urllib.parse.urlsplit(p["request"]["url"]).path.rstrip("/").endswith("/x")]
    check(not requested, f"{name}: no request for a payload's image" + (f": {requested[:3]}" if requested else ""))
    dialogs = [p.get("message") for m, p in page.events("Page.javascriptDialogOpening")]
    check(not dialogs, f"{name}: no script dialog opened" + (f": {dialogs}" if dialogs else ""))
    popup_texts = [t for t in (opened or {}).get("popups", []) + (opened or {}).get("tooltips", []) if t]
    for what, kind, selector, text in expectations:
        if kind == "dom":
            shown = page.evaluate(f"Array.from(document.querySelectorAll({json.dumps(selector)})).some((e) => e.textContent.includes({json.dumps(text)}))")
        else:
            shown = any(text in t for t in popup_texts)
        check(bool(shown), f"{name}: {what} is shown as text")
    # CSP violations and errors: the browser's log, the console, exceptions, the page's own listener.
    logs = [p["entry"] for m, p in page.events("Log.entryAdded")]
    console = [" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])) for m, p in page.events("Runtime.consoleAPICalled")]
    csp = [e.get("text", "") for e in logs if "Content Security Policy" in e.get("text", "") or e.get("source") == "violation"]
    csp += [c for c in console if "Content Security Policy" in c] + state["csp"]
    check(not csp, f"{name}: no Content-Security-Policy violation" + (": " + " | ".join(c[:200] for c in csp[:4]) if csp else ""))
    exceptions = [(p["exceptionDetails"].get("exception", {}).get("description") or p["exceptionDetails"].get("text", ""))[:200]
                  for m, p in page.events("Runtime.exceptionThrown")]
    errors = exceptions + ([state["errors"]] if state["errors"] else []) + (opened or {}).get("errors", [])
    check(not errors, f"{name}: no script errors" + (": " + " | ".join(errors[:4]) if errors else ""))
    other = [f"{e.get('level')} {e.get('source')}: {e.get('text', '')[:160]} {e.get('url', '')}" for e in logs
             if e.get("level") == "error" and e not in csp and "Content Security Policy" not in e.get("text", "") and not e.get("url", "").endswith("/favicon.ico")]
    for line in other[:5]:
        note(f"{name}: browser log: {line}")
    headers = page.document_headers()
    if check(headers is not None, f"{name}: the page's response was seen"):
        header_checks(name, headers)


def served_title(api, path, token=None):
    status, headers, raw = api.request("GET", path, token)
    text = raw.decode(errors="replace")
    start, end = text.find("<title>"), text.find("</title>")
    return html.unescape(text[start + 7:end]) if start >= 0 and end > start else None


# ---------------------------------------------------------------------------------------------------
# Planting

def free_spot(api, token):
    """A place inside the listings' extent with no listing within 25 m (so the listing is alone when zoomed in)."""
    status, collection = api.json("GET", "/collections/listings", token)
    try:
        w, s, e, n = collection["extent"]["spatial"]["bbox"][0]
    except (TypeError, KeyError, IndexError, ValueError):
        w, s, e, n = 9.0, 48.0, 9.1, 48.05
    for i in range(60):
        fx, fy = 0.5 + 0.37 * ((i * 0.618) % 1 - 0.5), 0.5 + 0.37 * ((i * 0.382) % 1 - 0.5)
        lon, lat = round(w + (e - w) * fx, 6), round(s + (n - s) * fy, 6)
        status, near = api.json("GET", f"/search/radius?lon={lon}&lat={lat}&radius_m=25&limit=5", token)
        if status == 200 and not near.get("features"):
            return lon, lat
    return round((w + e) / 2 + 0.00013, 6), round((s + n) / 2 + 0.00017, 6)


def plant(api, args, tag, mark, p):
    planted = {"tag": tag}
    lon, lat = free_spot(api, args.agent_token)
    planted["lonlat"] = (lon, lat)
    listing_id, client_id, demand_id, party_id = f"xss-l-{tag}", f"xss-c-{tag}", f"xss-d-{tag}", f"xss-p-{tag}"
    hostile_key = f"<img src=x onerror=window.__pwned='key'>{mark}-key"
    # Twelve properties in all (the items table shows twelve columns, a popup fourteen lines): the
    # hostile name sorts first, the x_ ones last.
    properties = {"address": p["img"], "list_price": 250000, "property_type": "house", "status": "active",
                  hostile_key: f"{mark}-key-value", "x_svg": p["svg"], "x_script": p["script"], "x_js_url": p["js_url"],
                  "x_iframe": p["iframe"], "x_attr": p["attr"]}
    feature = {"type": "Feature", "id": listing_id, "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}
    status, body = api.json("POST", "/collections/listings/items", args.agent_token, feature)
    if not check(status == 201, f"plant: listing {listing_id} at {lon},{lat} with hostile address, values and property name: {status}"):
        note(f"answer: {str(body)[:300]}")
        return None
    planted["listing"] = listing_id
    planted["listing_properties"] = properties
    planted["hostile_key"] = hostile_key
    stored = body.get("properties", {}) if isinstance(body, dict) else {}
    check(stored.get("address") == p["img"] and stored.get(hostile_key) == f"{mark}-key-value" and stored.get("x_script") == p["script"],
          "plant: the listing keeps the hostile values and the hostile property name as given")

    client_name = f"<svg/onload=window.__pwned='client'>\"'><img src=x onerror=\"document.title='PWNED'\"> {mark}-client"
    client = {"id": client_id, "contact": {"name": client_name, "email": "xss@example.com", "phone": "+420 000 000 000"},
              "household": "\"><svg onload=window.__pwned=1>", "lifecycle_stage": "viewing"}   # at most 40 characters
    status, body = api.json("POST", "/clients", args.agent_token, client)
    if check(status == 201, f"plant: client {client_id} with a hostile contact name: {status}"):
        planted["client"] = client_id
        planted["client_name"] = client_name
    else:
        note(f"answer: {str(body)[:300]}")
    demand = {"type": "Feature", "id": demand_id, "geometry": {"type": "Point", "coordinates": [lon, lat]},
              "properties": {"radius_m": 300, "property_types": "house", "budget_min": 100000, "budget_max": 400000,
                             "x_note": p["iframe"]}}
    status, body = api.json("POST", f"/clients/{client_id}/demands", args.agent_token, demand)
    if check(status == 201, f"plant: demand {demand_id} of that client around the listing (hostile unknown property): {status}"):
        planted["demand"] = demand_id
    else:
        note(f"answer: {str(body)[:300]}")

    # The archive: a transfer with a hostile party name and document, on the archive's first parcel.
    status, page = api.json("GET", "/collections/archive-parcels/items?limit=1", args.regulator_token)
    parcel = page["features"][0] if status == 200 and isinstance(page, dict) and page.get("features") else None
    if check(parcel is not None, f"plant: the archive has a parcel to transfer ({status}; register one with `rgis archive register`)"):
        party_name = f"<img src=x onerror=window.__pwned='party'><svg onload=document.title='PWNED'> {mark}-party"
        event = {"kind": "transfer", "parcel": parcel["properties"]["parcel_id"], "to": party_id, "share": "1/1000",
                 "type": "easement", "date": time.strftime("%Y-%m-%d", time.gmtime()), "party_name": party_name, "document": p["script"]}
        status, body = api.json("POST", "/archive/events", args.regulator_token, event)
        if check(status == 201, f"plant: archive transfer on parcel {event['parcel']} to {party_id} with a hostile party_name and document: {status}"):
            planted["parcel"] = event["parcel"]
            planted["party"] = party_id
            planted["party_name"] = party_name
            # The version now in force (the transfer may have made a new one), for its HTML page.
            status, now = api.json("GET", f"/archive/parcels/{urllib.parse.quote(event['parcel'], safe='')}/lineage?f=geojson", args.regulator_token)
            versions = [f for f in (now or {}).get("features", []) if f["properties"].get("parcel_id") == event["parcel"]] if status == 200 else []
            planted["parcel_version"] = str(versions[-1]["id"]) if versions else str(parcel["id"])
            g = parcel["geometry"]["coordinates"]
            flat = []
            def walk(c):
                if isinstance(c[0], (int, float)):
                    flat.append(c)
                else:
                    for x in c:
                        walk(x)
            walk(g)
            xs, ys = [c[0] for c in flat], [c[1] for c in flat]
            planted["parcel_bbox"] = (min(xs), min(ys), max(xs), max(ys))
        else:
            note(f"answer: {str(body)[:300]}")
    return planted


def hostile_ids(api, args, tag, p, planted):
    """Ids that carry markup are refused with 422, and nothing is created."""
    hostile = f"<img src=x onerror=window.__pwned='id'>{tag}"
    point = {"type": "Point", "coordinates": [0.001, 0.001]}
    status, body = api.json("POST", "/collections/listings/items", args.agent_token,
                            {"type": "Feature", "id": hostile, "geometry": point, "properties": {"address": "x"}})
    check(status == 422, f"hostile listing id (the Feature's id) refused: {status}")
    status, body = api.json("POST", "/collections/listings/items", args.agent_token,
                            {"type": "Feature", "geometry": point, "properties": {"id": p["svg"], "address": "x"}})
    check(status == 422, f"hostile listing id (a property `id`) refused: {status}")
    status, body = api.json("PUT", "/collections/listings/items/" + urllib.parse.quote(hostile, safe=""), args.agent_token,
                            {"type": "Feature", "geometry": point, "properties": {"address": "x"}})
    check(status in (404, 405, 422), f"hostile listing id in a PUT's path refused: {status}")
    status, body = api.json("GET", "/collections/listings/items/" + urllib.parse.quote(hostile, safe=""))
    check(status == 404, f"no listing exists under the hostile id: {status}")
    status, body = api.json("POST", "/clients", args.agent_token, {"id": hostile, "contact": {"name": "x"}})
    check(status == 422, f"hostile client id refused: {status}")
    status, body = api.json("POST", "/clients", args.agent_token, {"id": p["svg"], "contact": {"name": "x"}})
    check(status == 422, f"hostile client id (a breaking-out quote) refused: {status}")
    status, body = api.json("GET", "/clients/" + urllib.parse.quote(hostile, safe=""), args.agent_token)
    check(status == 404, f"no client exists under the hostile id: {status}")
    if planted and planted.get("client"):
        lon, lat = planted["lonlat"]
        status, body = api.json("POST", f"/clients/{planted['client']}/demands", args.agent_token,
                                {"type": "Feature", "id": hostile, "geometry": {"type": "Point", "coordinates": [lon, lat]},
                                 "properties": {"radius_m": 300}})
        check(status == 422, f"hostile demand id refused: {status}")
    if planted and planted.get("parcel"):
        status, body = api.json("POST", "/archive/events", args.regulator_token,
                                {"kind": "transfer", "parcel": planted["parcel"], "to": hostile, "share": "1/1000", "type": "easement",
                                 "date": time.strftime("%Y-%m-%d", time.gmtime())})
        check(status == 422, f"hostile archive party id refused: {status}")
    return hostile


# ---------------------------------------------------------------------------------------------------
# Pages

def open_page(browser, mark, name, url, ready, headers=None, timeout=60):
    page = Page(browser, mark, headers)
    try:
        page.navigate(url, timeout)
    except CDPError as error:
        check(False, f"{name}: opened ({error})")
        return page, False
    ok = page.wait_for(ready, timeout)
    check(bool(ok), f"{name}: the page says it is ready ({ready})")
    page.helpers()
    return page, bool(ok)


def items_pages(browser, api, args, planted, p, mark):
    lon, lat = planted["lonlat"]
    d = 0.0002
    listing = planted["listing"]
    pages = [
        ("items page", f"/collections/listings/items?f=html&limit=100&bbox={lon - d},{lat - d},{lon + d},{lat + d}"),
        ("feature page", f"/collections/listings/items/{urllib.parse.quote(listing, safe='')}?f=html"),
    ]
    for name, path in pages:
        page, ok = open_page(browser, mark, name, api.url + path, "document.body && document.body.dataset.ready === 'true'", timeout=args.timeout)
        try:
            if ok:
                # Hover the listing's marker with the mouse: its tooltip (the id, as text).
                marker = "(() => { let m = null; layer.eachLayer((l) => { if (l.feature && l.feature.id === %s) m = l; }); return m; })()" % json.dumps(listing)
                point = page.point_of(f"{marker}.getLatLng()")
                page.mouse(point[0], point[1], click=False)
                hovered = page.wait_for("(() => { const t = document.querySelector('.leaflet-tooltip'); return t && t.textContent; })()", 10)
                check(hovered == listing, f"{name}: hovering the marker shows its tooltip with the id as text ({hovered!r})")
                data = page.evaluate("JSON.parse(document.getElementById('map-data').textContent)")
                props = next((f["properties"] for f in data.get("features", []) if f.get("id") == listing), {})
                check(props.get("address") == p["img"] and props.get(planted["hostile_key"]) is not None and props.get("x_script") == p["script"],
                      f"{name}: the map's JSON data block carries the hostile values intact (as data)")
            opened = page.evaluate("window.__xss.openAll()") if ok else {}
            expectations = [("the hostile address", "dom", "td", p["img"]), ("the hostile property name", "dom", "th", planted["hostile_key"])]
            if name == "feature page":
                expectations += [(f"the hostile value {k}", "dom", "td", planted["listing_properties"][k]) for k in ["x_svg", "x_script", "x_js_url", "x_iframe", "x_attr"]]
            else:
                expectations += [("the listing's id link", "dom", "td a", listing)]
            if ok:
                note(f"{name}: {opened.get('layers')} layers, {len(opened.get('popups', []))} popups and {len(opened.get('tooltips', []))} tooltips opened")
            final_checks(page, name, served_title(api, path), expectations, opened)
        finally:
            page.close()


def agent_map(browser, api, args, planted, p, mark):
    name = "map (agent)"
    listing = planted["listing"]
    lon, lat = planted["lonlat"]
    page, ok = open_page(browser, mark, name, api.url + "/map#agent&token=" + urllib.parse.quote(args.agent_token, safe=""),
                         "document.body.dataset.ready === 'true' && document.body.dataset.clients !== undefined", timeout=args.timeout)
    expectations = []
    collected = {"popups": [], "tooltips": [], "found": [], "errors": []}

    def merge(opened):
        for key in collected:
            collected[key] += opened.get(key, [])

    try:
        if ok:
            check(page.evaluate("location.hash") == "#agent", f"{name}: the token was taken out of the address ({page.evaluate('location.href')!r})")
            merge(page.evaluate("window.__xss.openAll()"))   # the first view: clusters with tooltips, districts with popups
            # Zoomed in on the listing, it is a marker of its own; the mouse clicks it.
            page.evaluate(f"void map.setView([{lat}, {lon}], 19)")
            marker = """(() => { let m = null; listingsLayer.eachLayer((l) => { const c = l.getPopup && l.getPopup() && l.getPopup().getContent();
                if (c && c.textContent === %s) m = l; }); return m; })()""" % json.dumps(listing)
            found = page.wait_for(f"!!{marker}", args.timeout)
            if check(bool(found), f"{name}: zoomed in, the hostile listing is a marker of its own"):
                point = page.point_of(f"{marker}.getLatLng()")
                page.mouse(point[0], point[1])
                text = page.wait_for("""(() => { const c = document.querySelector('.leaflet-popup-content');
                    return c && c.textContent.includes(%s) ? c.textContent : null; })()""" % json.dumps(p["img"]), 20)
                check(bool(text), f"{name}: clicking the marker opens its popup with the whole listing")
                found_now = page.evaluate("window.__xss.scan(document.querySelector('.leaflet-popup'))")
                collected["found"] += found_now
                if text:
                    collected["popups"].append(text)
                page.evaluate("void map.closePopup()")
            # A radius search, clicked on the map beside the listing: the results' popups show every property.
            page.evaluate("document.getElementById('radius').value = '100'; document.getElementById('radiusMode').click()")
            point = page.point_of(f"L.latLng({lat}, {lon})")
            page.mouse(point[0] + 40, point[1] + 25)
            searched = """(() => { const s = document.getElementById('status').textContent;
                return s.startsWith('Within') && resultsLayer.getLayers().length ? s : null; })()"""
            results = page.wait_for(searched, 10)
            if not results:
                # Leaflet stops a click that opens a layer's popup from reaching the map: a click on a
                # district of the backdrop opens its popup instead of searching. Searched by firing the click.
                note(f"{name}: the mouse click beside the listing did not search (status {page.evaluate('document.getElementById(`status`).textContent')!r}, "
                     f"popup {(page.evaluate('(document.querySelector(`.leaflet-popup-content`) || {}).textContent || null') or '')[:60]!r} opened instead); "
                     "firing the map's click")
                page.evaluate("void map.closePopup()")
                page.evaluate(f"void map.fire('click', {{ latlng: L.latLng({lat}, {lon}) }})")
                results = page.wait_for(searched, 20)
            if not results:
                results = "status: " + page.evaluate("document.getElementById('status').textContent")
            check(bool(results) and listing in page.evaluate("document.getElementById('results').textContent"),
                  f"{name}: a radius search beside the listing finds it ({results!r})")
            expectations += [("the hostile address (listing popup)", "popup", None, "address: " + p["img"]),
                             ("the hostile property name and value (listing popup)", "popup", None, planted["hostile_key"] + ": " + f"{mark}-key-value")]
            expectations += [(f"the hostile value {k} (listing popup)", "popup", None, k + ": " + planted["listing_properties"][k])
                             for k in ["x_svg", "x_script", "x_js_url", "x_iframe", "x_attr"]]
            merge(page.evaluate("window.__xss.openAll()"))
            # The agent's client list: the hostile client chosen, then its demand (matches and their popups).
            if "client" in planted:
                option = page.evaluate("""(() => { const o = Array.from(document.querySelectorAll('#client option')).find((o) => o.value === %s);
                    return o ? o.textContent : null; })()""" % json.dumps(planted["client"]))
                check(option is not None and planted["client_name"] in option, f"{name}: the client list shows the hostile contact name as text")
                expectations.append(("the hostile contact name (client list)", "dom", "#client option", planted["client_name"]))
                page.evaluate("(() => { const s = document.getElementById('client'); s.value = %s; s.dispatchEvent(new Event('change')); })()"
                              % json.dumps(planted["client"]))
                if "demand" in planted:
                    got = page.wait_for("Array.from(document.querySelectorAll('#demand option')).some((o) => o.value === %s)" % json.dumps(planted["demand"]), 20)
                    check(bool(got), f"{name}: choosing the client lists its demand")
                    page.evaluate("(() => { const s = document.getElementById('demand'); s.value = %s; s.dispatchEvent(new Event('change')); })()"
                                  % json.dumps(planted["demand"]))
                    matches = page.wait_for("document.body.dataset.matches", 30)
                    shown = page.evaluate("document.getElementById('matches').textContent")
                    check(bool(matches) and listing in shown, f"{name}: the demand's matches ({matches}) include the hostile listing")
                    expectations.append(("the hostile listing among the matches (match popup)", "popup", None, f". {listing} score"))
                    merge(page.evaluate("window.__xss.openAll()"))
            # Hover and click each district of the backdrop is covered by openAll; one real hover over the map too.
            page.mouse(200, 200, click=False)
            page.settle(0.5)
            merge(page.evaluate("window.__xss.openAll()"))
            note(f"{name}: {len(collected['popups'])} popups and {len(collected['tooltips'])} tooltips opened")
        final_checks(page, name, served_title(api, "/map"), expectations, collected)
    finally:
        page.close()


def planner_map(browser, api, args, mark):
    name = "map (planner)"
    page, ok = open_page(browser, mark, name, api.url + "/map#planner&token=" + urllib.parse.quote(args.planner_token, safe=""),
                         "document.body.dataset.plannerReady === 'true'", timeout=args.timeout)
    try:
        opened = {}
        if ok:
            # One district clicked with the mouse (its popup is made by a function), then every popup.
            point = page.evaluate("""(() => { let l = null; plannerLayer.eachLayer((g) => g.eachLayer && g.eachLayer((x) => { if (!l) l = x; }));
                if (!l) return null; const p = map.latLngToContainerPoint(l.getCenter()); const r = map.getContainer().getBoundingClientRect();
                return [r.left + p.x, r.top + p.y]; })()""")
            if point:
                page.mouse(point[0], point[1])
                clicked = page.wait_for("(() => { const c = document.querySelector('.leaflet-popup-content'); return c && c.textContent; })()", 10)
                check(bool(clicked), f"{name}: clicking a district opens its popup ({(clicked or '')[:60]!r})")
            opened = page.evaluate("window.__xss.openAll()")
            check(len(opened.get("popups", [])) > 0 and all(opened["popups"]), f"{name}: every district's popup opens with content ({len(opened.get('popups', []))})")
            note(f"{name}: {opened.get('layers')} layers, {len(opened.get('popups', []))} popups opened (planners are shown no free text the API takes)")
        final_checks(page, name, served_title(api, "/map"), [], opened)
    finally:
        page.close()


def regulator_map(browser, api, args, planted, mark):
    name = "map (regulator)"
    page, ok = open_page(browser, mark, name, api.url + "/map#regulator&token=" + urllib.parse.quote(args.regulator_token, safe=""),
                         "document.body.dataset.regulatorReady === 'true'", timeout=args.timeout)
    expectations = []
    try:
        opened = {"popups": [], "found": [], "errors": []}
        if ok and "parcel" in planted:
            parcel = json.dumps(planted["parcel"])
            finder = """(() => { let m = null; archiveLayer.eachLayer((g) => g.eachLayer && g.eachLayer((l) => {
                if (l.feature && l.feature.properties.parcel_id === %s) m = l; })); return m; })()""" % parcel
            if check(bool(page.evaluate(f"!!{finder}")), f"{name}: the hostile parcel {planted['parcel']} is drawn"):
                # Clicked with the mouse at its centre; if another parcel took the click, fired on the layer.
                page.evaluate(f"void map.fitBounds({finder}.getBounds(), {{ maxZoom: 19 }})")
                page.wait_for("(document.body.dataset.archiveQuery || '').includes('bbox=')", 20)
                page.settle(1.0)
                page.wait_for("!!%s" % finder, 20)
                point = page.point_of(f"{finder}.getCenter()")
                page.mouse(point[0], point[1])
                popup = "(() => { const c = document.querySelector('.leaflet-popup-content'); return c && c.textContent.includes('Parcel ' + %s) ? c.textContent : null; })()" % parcel
                text = page.wait_for(popup, 10)
                if not text:
                    page.evaluate(f"void {finder}.fire('click', {{ latlng: {finder}.getCenter() }})")
                    text = page.wait_for(popup, 20)
                check(bool(text), f"{name}: clicking the parcel opens its lineage and rights popup")
                if text:
                    opened["popups"].append(text)
                    opened["found"] += page.evaluate("window.__xss.scan(document.querySelector('.leaflet-popup'))")
                expectations.append((f"the transfer's party {planted['party']} (rights popup)", "popup", None, planted["party"]))
                shows_name = bool(text) and planted["party_name"] in text
                note(f"{name}: the rights popup {'shows' if shows_name else 'does not show'} party names (it shows party ids)")
        if ok:
            more = page.evaluate("window.__xss.openAll()")
            for key in ["popups", "found", "errors"]:
                opened[key] += more.get(key, [])
        final_checks(page, name, served_title(api, "/map"), expectations, opened)
    finally:
        page.close()


def archive_pages(browser, api, args, planted, mark):
    if "parcel" not in planted:
        return
    auth = {"Authorization": f"Bearer {args.regulator_token}"}
    w, s, e, n = planted["parcel_bbox"]
    pages = [("archive items page", f"/collections/archive-parcels/items?f=html&limit=50&bbox={w},{s},{e},{n}"),
             ("archive version page", f"/collections/archive-parcels/items/{planted['parcel_version']}?f=html")]
    for name, path in pages:
        page, ok = open_page(browser, mark, name, api.url + path, "document.body && document.body.dataset.ready === 'true'", headers=auth,
                             timeout=args.timeout)
        try:
            opened = page.evaluate("window.__xss.openAll()") if ok else {}
            # The page must show the party name where its JSON carries it (a version shows the rights of its own time).
            status, body = api.json("GET", path.replace("f=html", "f=json"), args.regulator_token)
            carried = planted["party_name"] in json.dumps(body, ensure_ascii=False)
            if not carried:
                note(f"{name}: its JSON carries no party name ({status}): nothing to show")
            final_checks(page, name, served_title(api, path, args.regulator_token),
                         [("the hostile party name", "dom", "td", planted["party_name"])] if carried else [], opened)
        finally:
            page.close()


def asset_headers(api):
    for path in ["/static/rgis/map.js", "/static/rgis/items-map.js"]:
        status, headers, _ = api.request("GET", path)
        check(status == 200 and "javascript" in headers.get("content-type", ""), f"{path}: served as JavaScript ({status}, {headers.get('content-type')})")
        header_checks(path, headers)
    status, headers, _ = api.request("GET", "/no-such-page")
    header_checks(f"an error response ({status})", headers)


def cleanup(api, args, planted):
    for what, path in [("demand", f"/demands/{planted.get('demand')}"), ("client", f"/clients/{planted.get('client')}"),
                       ("listing", f"/collections/listings/items/{planted.get('listing')}")]:
        if planted.get(what):
            status, _, _ = api.request("DELETE", path, args.agent_token)
            if status not in (200, 204):
                note(f"cleanup: DELETE {path}: {status}")
    if planted.get("party"):
        note(f"cleanup: the archive transfer to {planted['party']} stays (the archive never deletes)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--agent-token", required=True)
    parser.add_argument("--planner-token", required=True)
    parser.add_argument("--regulator-token", required=True)
    parser.add_argument("--admin-token", help="unused by the checks; accepted so that callers may pass every role's token")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--timeout", type=float, default=60, help="seconds a page may take to say it is ready")
    parser.add_argument("--keep", action="store_true", help="leave the planted listing, client and demand in the database")
    args = parser.parse_args()
    api = Api(args.url)
    tag = format(int(time.time() * 1000) % 10 ** 10, "x")
    mark, p = payloads(tag)
    planted = plant(api, args, tag, mark, p)
    hostile_ids(api, args, tag, p, planted)
    asset_headers(api)
    if planted and "listing" in planted:
        browser = Browser(args.chromium)
        try:
            for step in (lambda: items_pages(browser, api, args, planted, p, mark),
                         lambda: agent_map(browser, api, args, planted, p, mark),
                         lambda: planner_map(browser, api, args, mark),
                         lambda: regulator_map(browser, api, args, planted, mark),
                         lambda: archive_pages(browser, api, args, planted, mark)):
                try:
                    step()
                except CDPError as error:
                    check(False, f"browser: {error}")
        finally:
            browser.close()
        if not args.keep:
            cleanup(api, args, planted)
    print(f"xss_check: {len(failures)} failed" if failures else "xss_check: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
