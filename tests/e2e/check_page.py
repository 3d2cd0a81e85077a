"""Step 2: load a running Streamlit page in headless Chromium and check what a person would see.

    python check_page.py URL SCREENSHOT.png

Drives Chromium over its DevTools pipe (--remote-debugging-pipe: file descriptors 3 and 4, no
port, standard library only), waits until the app has rendered (Streamlit fills the page over
a websocket after load, so a fixed delay would be flaky), saves a screenshot and checks the
page text. Prints PASS/FAIL lines; exits 1 if any check failed.
"""

import base64
import fcntl
import json
import os
import select
import subprocess
import sys
import tempfile
import time

from expected import MASKED, TRELLO, report

TIMEOUT = 60.0  # seconds for the page to render, on a loaded 2-core machine


def _above_10(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Chromium:
    def __init__(self, profile: str):
        # Chromium reads commands from fd 3 and answers on fd 4. The pipe's ends go above 10
        # first, so that putting them on 3 and 4 in the child cannot overwrite one another.
        to_child, self._write = map(_above_10, os.pipe())
        self._read, from_child = map(_above_10, os.pipe())

        def wire_pipe() -> None:  # in the child, before exec; dup2 makes 3 and 4 inheritable
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self.process = subprocess.Popen(
            [
                "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", f"--user-data-dir={profile}",
                "--window-size=1000,700", "--hide-scrollbars", "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # D-Bus and GPU chatter on a server
            preexec_fn=wire_pipe,
            close_fds=False,  # keep 3 and 4; Python's own descriptors are close-on-exec
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next_id = 0

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError(f"Chromium did not answer {method}")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk

    def open(self, url: str) -> str:
        """A new tab on `url`; returns the DevTools session that drives it."""
        page = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=page, flatten=True)["sessionId"]
        self.call("Page.navigate", session, url=url)
        return session

    def evaluate(self, session: str, expression: str) -> str:
        """The value of a JavaScript expression in the page, as text ("" when it has none)."""
        result = self.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
        return result["result"].get("value", "")

    def page_text(self, session: str, *until: str, every: bool = False) -> str:
        """The page's text once it shows one of `until` (all of them with `every`): Streamlit
        renders after load, over a websocket. As it is when TIMEOUT runs out."""
        shown = all if every else any
        deadline = time.monotonic() + TIMEOUT
        text = ""
        while time.monotonic() < deadline:
            text = self.evaluate(session, "document.body ? document.body.innerText : ''")
            if shown(marker in text for marker in until):
                break
            time.sleep(0.25)
        return text

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main() -> int:
    url, screenshot = sys.argv[1], sys.argv[2]
    expected_lines = [f"{name}: received, {masked}" for name, masked in MASKED.items()]
    with tempfile.TemporaryDirectory() as profile:
        browser = Chromium(profile)
        try:
            session = browser.open(url)
            text = browser.page_text(session, "TrelloClient ready", "Missing")
            time.sleep(0.5)  # let the last frame paint before the screenshot
            html = browser.evaluate(session, "document.documentElement.outerHTML")
            png = browser.call("Page.captureScreenshot", session, format="png")["data"]
        finally:
            browser.close()
    os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
    with open(screenshot, "wb") as f:
        f.write(base64.b64decode(png))
    print(f"screenshot: {screenshot}")
    results = [report("Trello credentials" in text, "Chromium: the app's page rendered")]
    for line in expected_lines:
        results.append(report(line in text, f"Chromium: the page shows {line!r}"))
    results.append(report("TrelloClient ready with all 3 credentials." in text, "Chromium: the page shows the client ready"))
    results.append(report("st.secrets file: none" in text, "Chromium: st.secrets found no file (values came from the environment)"))
    results.append(
        report(not any(value[2:] in html for value in TRELLO.values()), "Chromium: no full secret value in the page's HTML")
    )
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
