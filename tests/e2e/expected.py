"""What tests/e2e/secrets.toml must become, written out by hand from SPEC.md §3 (the oracle)."""

TRELLO = {
    "TRELLO_API_KEY": "ab3f9c0e5d7a1b2c4e6f8a0b1c3d5e7f",
    "TRELLO_API_SECRET": "cd0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6",
    "TRELLO_OAUTH_TOKEN": "ATTA9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615243342",
}

# How the app shows each value: first two characters and the length.
MASKED = {
    "TRELLO_API_KEY": "ab… (32 chars)",
    "TRELLO_API_SECRET": "cd… (64 chars)",
    "TRELLO_OAUTH_TOKEN": "AT… (64 chars)",
}

# Root-level keys whose TOML value is a string, integer or float: Streamlit copies exactly
# these into os.environ, as str(value).
ROOT_SCALARS = {
    "db_username": "admin",
    "greeting": "héllo wörld = ok",
    "motd": "two\nlines",
    "port": "8501",
    "mask": "255",
    "big": "1e+100",
    "third": "0.30000000000000004",
    "tiny": "1e-07",
    "negzero": "-0.0",
    "whole": "5.0",
    "huge": "inf",
}

# What inject sets beyond Streamlit: root booleans, arrays and datetimes, and every table.
BEYOND_STREAMLIT = {
    "debug": "true",
    "tags": '["a",1,true]',
    "launched": "1979-05-27T07:32:00Z",
    "SMTP_HOST": "mail.example.com",
    "SMTP_PORT": "587",
    "servers": '[{"name":"a"}]',
    **TRELLO,
}

EVERYTHING = {**ROOT_SCALARS, **BEYOND_STREAMLIT}


def report(ok: bool, what: str) -> bool:
    print(f"{'PASS' if ok else 'FAIL'}: {what}", flush=True)
    return ok
