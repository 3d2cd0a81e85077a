"""A Streamlit app that talks to Trello with credentials from the environment.

Run it with its secrets injected, so the same command works on a laptop
(`.streamlit/secrets.toml`) and in production (platform variables, no file):

    inject -- streamlit run app.py
"""

import os

import streamlit as st
from trello import TrelloClient

# What the app needs, as inject names them: [trello] api_key -> TRELLO_API_KEY.
NEEDED = ("TRELLO_API_KEY", "TRELLO_API_SECRET", "TRELLO_OAUTH_TOKEN")


def mask(value: str) -> str:
    """Enough to recognise a credential, never enough to use it."""
    return f"{value[:2]}… ({len(value)} chars)"


st.title("Trello credentials")

received = {name: os.environ[name] for name in NEEDED if os.environ.get(name)}
for name in NEEDED:
    if name in received:
        st.markdown(f"`{name}`: received, `{mask(received[name])}`")
    else:
        st.markdown(f"`{name}`: **missing**")

# Whether Streamlit itself found a secrets file: in production there is none,
# and the values above came from the environment alone.
has_file = st.secrets.load_if_toml_exists()
st.caption(f"st.secrets file: {'found' if has_file else 'none'}")

missing = [name for name in NEEDED if name not in received]
if missing:
    st.error(f"Missing {', '.join(missing)}: run `inject -- streamlit run app.py`.")
    st.stop()

# py-trello's constructor only stores the credentials; no request is made here.
client = TrelloClient(
    api_key=os.environ["TRELLO_API_KEY"],
    api_secret=os.environ["TRELLO_API_SECRET"],
    token=os.environ["TRELLO_OAUTH_TOKEN"],
)
st.session_state["trello_client"] = client
st.success(f"TrelloClient ready with all {len(NEEDED)} credentials.")
