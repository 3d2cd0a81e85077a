"""Step 3: what inject sets agrees with what Streamlit itself exports to os.environ.

    python parity.py INJECT APP_DIR       (APP_DIR/.streamlit/secrets.toml is the secrets file)

Streamlit, on reading its secrets, copies every root-level key whose value is a string,
integer or float into os.environ as str(value); nothing else (no booleans, arrays, datetimes,
tables). Here the example app runs under AppTest with no inject, from APP_DIR where Streamlit
finds the file itself; its environment is compared with what `inject -- python` (default
source list, the same working directory) gives a child. Prints PASS/FAIL lines; exits 1 if any
check failed.
"""

import json
import os
import subprocess
import sys

from streamlit.testing.v1 import AppTest

from expected import BEYOND_STREAMLIT, ROOT_SCALARS, report

DUMP_ENV = "import json, os, sys; json.dump(dict(os.environ), sys.stdout)"


def changed(before: dict, after: dict) -> dict:
    return {name: value for name, value in after.items() if before.get(name) != value}


def main() -> int:
    inject, app_dir = sys.argv[1], sys.argv[2]
    os.chdir(app_dir)
    baseline = dict(os.environ)

    child = subprocess.run(
        [inject, "--", sys.executable, "-c", DUMP_ENV],
        env=baseline, capture_output=True, text=True, check=False,
    )
    if child.returncode != 0:
        report(False, f"parity: inject -- python exited {child.returncode}: {child.stderr.strip()}")
        return 1
    by_inject = changed(baseline, json.loads(child.stdout))

    at = AppTest.from_file(os.path.join(app_dir, "app.py"), default_timeout=30).run()
    by_streamlit = changed(baseline, dict(os.environ))

    results = [
        report(texts_of(at.caption) == ["st.secrets file: found"], "parity: Streamlit read .streamlit/secrets.toml itself"),
        # If this fails, Streamlit's rule changed: update expected.py and the README.
        report(
            by_streamlit == ROOT_SCALARS,
            f"parity: Streamlit exported exactly the {len(ROOT_SCALARS)} root-level string/integer/float keys"
            + describe(by_streamlit, ROOT_SCALARS),
        ),
    ]
    differ = sorted(name for name, value in by_streamlit.items() if by_inject.get(name) != value)
    results.append(
        report(
            not differ,
            f"parity: inject sets every variable Streamlit exports, byte for byte ({', '.join(sorted(by_streamlit))})"
            + (f"; differ: {', '.join(differ)}" if differ else ""),
        )
    )
    beyond = {name: value for name, value in by_inject.items() if name not in by_streamlit}
    results.append(
        report(
            beyond == BEYOND_STREAMLIT,
            f"parity: beyond Streamlit, inject sets exactly the documented extras ({', '.join(sorted(beyond))})"
            + describe(beyond, BEYOND_STREAMLIT),
        )
    )
    # Without inject the app itself has no Trello credentials: Streamlit exports no table.
    results.append(
        report(len(at.error) == 1 and not at.success, "parity: Streamlit alone leaves the app without TRELLO_* (it shows the error)")
    )
    return 0 if all(results) else 1


def texts_of(elements) -> list[str]:
    return [element.value for element in elements]


def describe(got: dict, want: dict) -> str:
    """Names only: which are missing, extra or different (values stay out of the log)."""
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    different = sorted(name for name in set(got) & set(want) if got[name] != want[name])
    parts = [f"{label}: {', '.join(names)}" for label, names in
             (("missing", missing), ("extra", extra), ("different", different)) if names]
    return f" [{'; '.join(parts)}]" if parts else ""


if __name__ == "__main__":
    sys.exit(main())
