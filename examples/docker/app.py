"""A tiny Streamlit app: says which injected secrets reached it, never their values."""

import os

import streamlit as st

st.title("inject demo")
for name in ("TRELLO_API_KEY", "TRELLO_OAUTH_TOKEN", "db_username"):
    value = os.environ.get(name)
    if value is None:
        st.warning(f"`{name}` is not set")
    else:
        st.success(f"`{name}` is set ({len(value)} characters)")
