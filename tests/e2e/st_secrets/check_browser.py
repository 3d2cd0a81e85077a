"""`streamlit run` under inject --st-secrets, in headless Chromium: the page shows what the app
read through st.secrets, and `?login=1` (st.login) takes the browser to the OpenID stub's
authorization endpoint with the client_id that came from a variable.

    python check_browser.py URL STUB_LOG

Prints PASS/FAIL lines; exits 1 if any check failed.
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from check_page import Chromium  # noqa: E402 (the DevTools driver of the Trello proof)
from expected import report  # noqa: E402


def main() -> int:
    url, stub_log = sys.argv[1], sys.argv[2]
    results = []
    with tempfile.TemporaryDirectory() as profile:
        browser = Chromium(profile)
        try:
            session = browser.open(url)
            text = browser.page_text(session, "auth client_id")
            for line in [
                "port from st.secrets.get: 8501",
                "missing from st.secrets.get: none",
                "pool size: 5",
                "auth client_id: client-from-env",
            ]:
                results.append(report(line in text, f"Chromium: the page shows {line!r}"))
            browser.call("Page.navigate", session, url=url + "?login=1")
            text = browser.page_text(session, "stub authorize page")
            results.append(report("stub authorize page" in text, "Chromium: st.login took the browser to the OpenID stub"))
        finally:
            browser.close()
    requests = []
    if os.path.exists(stub_log):
        with open(stub_log, encoding="utf-8") as f:
            requests = [json.loads(line) for line in f if line.strip()]
    first = requests[0] if requests else {}
    results.append(report(first.get("client_id") == "client-from-env",
                          "the stub's authorization endpoint got the client_id from the variable"))
    results.append(report(first.get("redirect_uri", "").endswith("/oauth2callback"),
                          "… with the redirect_uri from the variable"))
    results.append(report(first.get("response_type") == "code" and "openid" in first.get("scope", ""),
                          "… as an OpenID Connect authorization request (code, openid)"))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
