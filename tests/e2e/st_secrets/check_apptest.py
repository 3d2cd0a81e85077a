"""AppTest of the --st-secrets app, in this process: what st.secrets gives and what
os.environ holds must agree, and both must be the expected values.

    inject --st-secrets … -- python check_apptest.py APP_DIR CASE
    python check_apptest.py APP_DIR control     (no inject: st.secrets must be empty)

Prints PASS/FAIL lines; exits 1 if any check failed.
"""

import datetime
import json
import os
import sys

from streamlit import config
from streamlit.testing.v1 import AppTest

# What the app must see, as variables (the oracle, written by hand).
EXPECTED = {
    "title": "Tâches du jour: \"quoted\" \\ and\nnew line",
    "port": "8501",
    "ratio": "1e+100",
    "debug": "true",
    "released": "2026-12-03T10:00:00Z",
    "tags": "[\"a\",1,[true,2.5]]",
    "DATABASE_URL": "postgresql://app:pw@127.0.0.1:5432/app",
    "DATABASE_POOL_SIZE": "5",
    "DATABASE_POOL_TIMEOUT": "2.5",
    "AUTH_REDIRECT_URI": "http://127.0.0.1:8501/oauth2callback",
    "AUTH_COOKIE_SECRET": "cookie-secret-for-the-e2e-0123456789",
    "AUTH_CLIENT_ID": "client-from-env",
    "AUTH_CLIENT_SECRET": "client-secret-from-env",
    "AUTH_SERVER_METADATA_URL": "http://127.0.0.1:9/.well-known/openid-configuration",
}
TYPES = {"title": "str", "port": "int", "ratio": "float", "debug": "bool",
         "released": "datetime", "tags": "list", "database": "dict", "auth": "dict"}


def report(ok: bool, what: str) -> bool:
    print(("PASS: " if ok else "FAIL: ") + what)
    return ok


def same(name: str, a: str | None, b: str | None) -> bool:
    """Equal as variables; a date-time as the instant it names (Python spells UTC +00:00)."""
    if a == b or a is None or b is None:
        return a == b
    if name == "released":
        parse = lambda t: datetime.datetime.fromisoformat(t)
        return parse(a) == parse(b)
    return False


def main() -> int:
    app, case = sys.argv[1], sys.argv[2]
    # `streamlit run` reads STREAMLIT_SECRETS_FILES as its `--secrets.files` option (click's
    # environment variables); AppTest runs the app bare, without that command line, so the
    # variable inject set is applied here as `streamlit run` would apply it.
    if "STREAMLIT_SECRETS_FILES" in os.environ:
        config.set_option("secrets.files", os.environ["STREAMLIT_SECRETS_FILES"].split())
    at = AppTest.from_file(f"{app}/app.py", default_timeout=60).run()
    views = json.loads(at.code[0].value) if at.code else {}
    secrets, environ = views.get("secrets", {}), views.get("environ", {})
    if case == "control":
        # Only variables, no inject: Streamlit finds no secrets file, the app fails at
        # st.secrets. What the other cases pass is not a given.
        ok = bool(at.exception) and secrets == {}
        return 0 if report(ok, "control: without inject --st-secrets, st.secrets has nothing") else 1
    results = [report(not at.exception, f"{case}: the app ran without an exception")]
    expected, types = dict(EXPECTED), dict(TYPES)
    if case == "encrypted":
        # The file's public key is a root key like any other (it is no secret).
        public = secrets.get("DOTENV_PUBLIC_KEY", "")
        results.append(report(len(public) == 66 and public[:2] in ("02", "03"),
                              "encrypted: st.secrets holds the file's DOTENV_PUBLIC_KEY"))
        expected["DOTENV_PUBLIC_KEY"] = public
        types["DOTENV_PUBLIC_KEY"] = "str"
    results.append(report(views.get("types") == types, f"{case}: every TOML type arrives typed in st.secrets"))
    for name, want in expected.items():
        results.append(report(
            same(name, secrets.get(name), want) and same(name, environ.get(name), want),
            f"{case}: {name} agrees in st.secrets and os.environ, and is the expected value",
        ))
    results.append(report(set(secrets) == set(expected), f"{case}: st.secrets holds exactly the expected keys"))
    markdown = "\n".join(m.value for m in at.markdown)
    results.append(report("port from st.secrets.get: **8501**" in markdown, f"{case}: st.secrets.get finds a key"))
    results.append(report("missing from st.secrets.get: **none**" in markdown, f"{case}: st.secrets.get gives the default"))
    results.append(report("pool size: **5**" in markdown, f"{case}: an inline table inside a table"))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
