"""Step 1: run the example app with Streamlit's AppTest, in this process, and check what it got.

    inject -f /elsewhere/secrets.toml -- python check_apptest.py APP_DIR
    python check_apptest.py --without-inject APP_DIR     (the control: the app must say "missing")

APP_DIR holds app.py and no secrets file, so st.secrets finds none (as in production).
Prints PASS/FAIL lines; exits 1 if any check failed.
"""

import os
import sys

from streamlit.testing.v1 import AppTest

from expected import EVERYTHING, MASKED, TRELLO, report


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def with_inject(at: AppTest) -> list[bool]:
    markdown = "\n".join(texts(at.markdown))
    results = [
        report(not at.exception, "AppTest: the app ran without an exception"),
        report(
            texts(at.caption) == ["st.secrets file: none"],
            "AppTest: st.secrets found no secrets file (production-like)",
        ),
    ]
    for name, masked in MASKED.items():
        results.append(
            report(
                f"`{name}`: received, `{masked}`" in markdown,
                f"AppTest: the page shows {name} received, masked as {masked!r}",
            )
        )
    results.append(
        report(
            not any(value[2:] in markdown for value in TRELLO.values()),
            "AppTest: no full secret value on the page",
        )
    )
    client = at.session_state["trello_client"] if "trello_client" in at.session_state else None
    got = None if client is None else {
        "TRELLO_API_KEY": client.api_key,
        "TRELLO_API_SECRET": client.api_secret,
        "TRELLO_OAUTH_TOKEN": client.resource_owner_key,
    }
    results.append(report(got == TRELLO, "AppTest: TrelloClient built with the three exact values"))
    results.append(report(len(at.success) == 1 and not at.error, "AppTest: success shown, no error"))
    # AppTest runs the script in this process: its environment is the app's.
    wrong = sorted(name for name, value in EVERYTHING.items() if os.environ.get(name) != value)
    results.append(
        report(
            not wrong,
            f"AppTest: the app's environment holds all {len(EVERYTHING)} values exactly"
            + (f" (wrong or missing: {', '.join(wrong)})" if wrong else ""),
        )
    )
    return results


def without_inject(at: AppTest) -> list[bool]:
    markdown = "\n".join(texts(at.markdown))
    return [
        report(
            all(f"`{name}`: **missing**" in markdown for name in TRELLO),
            "control without inject: the app reports all three credentials missing",
        ),
        report(len(at.error) == 1 and not at.success, "control without inject: error shown, no success"),
        report("trello_client" not in at.session_state, "control without inject: no TrelloClient built"),
    ]


def main() -> int:
    control = sys.argv[1] == "--without-inject"
    app_dir = sys.argv[-1]
    os.chdir(app_dir)
    at = AppTest.from_file(os.path.join(os.getcwd(), "app.py"), default_timeout=30).run()
    results = without_inject(at) if control else with_inject(at)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
