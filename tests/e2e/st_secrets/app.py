"""The app of the --st-secrets proof: it reads its settings through st.secrets (nested tables,
every TOML type, st.secrets.get) and shows them beside os.environ, flattened the way inject
names variables, so a checker can compare the two views. `?login=1` calls st.login()."""

import json
import os

import streamlit as st


def text(value):
    """A value as inject writes it into a variable."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def flatten(table, prefix=""):
    """inject's names: a root key as it is, `[a] b` as `A_B` (these keys need no other rule)."""
    out = {}
    for key, value in table.items():
        name = f"{prefix}_{key}".upper() if prefix else key
        if isinstance(value, dict):
            out.update(flatten(value, name.upper()))
        else:
            out[name] = text(value)
    return out


secrets = st.secrets.to_dict()
flat = flatten(secrets)
views = {
    "secrets": flat,
    "environ": {name: os.environ.get(name) for name in flat},
    "types": {key: type(value).__name__ for key, value in secrets.items()},
}
st.title("st.secrets under inject")
st.code(json.dumps(views, sort_keys=True), language="json")
st.markdown(f"port from st.secrets.get: **{st.secrets.get('port', 'none')}**")
st.markdown(f"missing from st.secrets.get: **{st.secrets.get('nowhere', 'none')}**")
st.markdown(f"pool size: **{st.secrets['database']['pool']['size']}**")
st.markdown(f"auth client_id: **{st.secrets['auth']['client_id']}**")
if st.query_params.get("login") == "1" and not st.user.is_logged_in:
    st.login()
