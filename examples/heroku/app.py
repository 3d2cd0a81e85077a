"""A tiny Streamlit app for Heroku: which config vars reached it, by name and length only.

On Heroku the config vars are already environment variables and there is no secrets file, so
`inject -- streamlit run app.py` (the Procfile) passes them on untouched. Values are never shown
or logged: a length is enough to see that a variable arrived, and useless to anyone reading.
"""

import os
import sys

import streamlit as st

# The variables of the platform itself: not config vars.
PLATFORM = {"HOME", "PATH", "PORT", "DYNO", "LANG", "PWD", "SHLVL", "_"}

names = sorted(name for name in os.environ if name not in PLATFORM)
st.title("Config vars")
st.caption(f"dyno {os.environ.get('DYNO', '?')}, port {os.environ.get('PORT', '?')}")
for name in names:
    st.markdown(f"`{name}`: {len(os.environ[name])} characters")
if not names:
    st.warning("No config vars reached the app.")
# One line in the logs (`heroku logs`) per script run: names and lengths, never values.
print("config vars:", ", ".join(f"{n}({len(os.environ[n])})" for n in names) or "none", file=sys.stderr)
