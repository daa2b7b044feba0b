"""The seed's design for the config server, for comparison: a Flask app on waitress doing what
the agent's ``GET /v1/config`` does.

Run by bench/agent.py: ``flask_config.py CONF TOKEN`` prints ``serving on http://127.0.0.1:PORT``
on stderr and serves until killed. Flask and waitress are the bench's optional dependencies
(``pip install -e '.[bench]'``, which ``./dev bench`` does); without them this exits 1 saying so,
so the comparison never silently disappears. Same logic as the agent: bearer token checked before
routing, the conf read for each request, sha256 ``ETag``, ``If-None-Match`` 304. waitress with 8
threads and a connection limit of 2000, so 1000 clients are all accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import sys

try:
    import flask
    import waitress
except ImportError as exc:
    print(
        f"bench: FAILED: the Flask + waitress comparison needs the bench extra ({exc}): "
        "run ./dev bench, or .venv/bin/pip install -e '.[bench]'",
        file=sys.stderr,
    )
    sys.exit(1)


def make_app(conf_path: str, token: str) -> flask.Flask:
    app = flask.Flask("ascad-bench")
    want = token.encode()

    @app.before_request
    def auth() -> flask.Response | None:
        if flask.request.path == "/healthz":
            return None
        scheme, _, given = flask.request.headers.get("Authorization", "").encode().partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), want):
            return None
        return flask.Response(
            b"401 unauthorized\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="ascad"'},
            content_type="text/plain",
        )

    @app.get("/v1/config")
    def config() -> flask.Response:
        with open(conf_path, "rb") as fh:
            data = fh.read()
        etag = '"' + hashlib.sha256(data).hexdigest() + '"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        inm = flask.request.headers.get("If-None-Match")
        if inm is not None and etag in [t.strip() for t in inm.split(",")]:
            return flask.Response(status=304, headers=headers)
        return flask.Response(data, 200, headers, content_type="text/plain; charset=utf-8")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok\n"

    return app


def main(conf_path: str, token: str) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    print(f"serving on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    waitress.serve(
        make_app(conf_path, token),
        host="127.0.0.1",
        port=port,
        threads=8,
        connection_limit=2000,
        backlog=2048,
        _quiet=True,
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
