"""A small OpenID Connect provider stub on 127.0.0.1, for st.login: it serves the discovery
document and records each request to its authorization endpoint (one JSON line per request in
LOG), answering with a plain page. Nothing else: no token is ever issued.

    python oidc_stub.py PORT_FILE LOG
Writes the port it listens on to PORT_FILE once ready.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def main() -> None:
    port_file, log = sys.argv[1], sys.argv[2]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            url = urlsplit(self.path)
            base = f"http://127.0.0.1:{self.server.server_port}"
            if url.path == "/.well-known/openid-configuration":
                body = json.dumps({
                    "issuer": base,
                    "authorization_endpoint": f"{base}/authorize",
                    "token_endpoint": f"{base}/token",
                    "userinfo_endpoint": f"{base}/userinfo",
                    "jwks_uri": f"{base}/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }).encode()
                kind = "application/json"
            elif url.path == "/authorize":
                with open(log, "a", encoding="utf-8") as f:
                    f.write(json.dumps({k: v[0] for k, v in parse_qs(url.query).items()}) + "\n")
                body, kind = b"<html><body>stub authorize page</body></html>", "text/html"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file, "w", encoding="utf-8") as f:
        f.write(str(server.server_port))
    server.serve_forever()


if __name__ == "__main__":
    main()
