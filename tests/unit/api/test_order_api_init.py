"""In a Lambda sandbox the API builds its clients and fetches the JWKS at import (the init
phase provisioned concurrency runs), once; tests and tools that import it build nothing,
and ``reset_default_services`` forgets what was built."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from order_api_support import (
    AUDIENCE,
    ISSUER,
    STATE_MACHINE_ARN,
    TABLE,
    SigningKey,
    TokenFactory,
)

ROOT = Path(__file__).resolve().parents[3]

# what the sandbox does after its init, printed as JSON for the test to read
CHILD = """
import json, sys
import workflows.api.app as api
documented = api.openapi_json.cache_info().currsize == 1  # built by the init?
first = api.default_services()
if sys.argv[2]:  # where the key set is served from now on
    first.verifier.jwks.uri = sys.argv[2]
principal = first.verifier.verify(sys.argv[1])
api.reset_default_services()
again = api.default_services()
print(json.dumps({"subject": principal.subject, "same_after_reset": again is first,
                  "documented": documented}))
"""


class Jwks(ThreadingHTTPServer):
    """A JWKS on 127.0.0.1 that counts the fetches."""

    def __init__(self, key: SigningKey) -> None:
        self.document = json.dumps({"keys": [key.jwk()]}).encode()
        self.fetches = 0
        super().__init__(("127.0.0.1", 0), _Serve)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/.well-known/jwks.json"


class _Serve(BaseHTTPRequestHandler):
    server: Jwks

    def do_GET(self) -> None:
        self.server.fetches += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.document)))
        self.end_headers()
        self.wfile.write(self.server.document)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def served_jwks(signing_key: SigningKey) -> Iterator[Jwks]:
    server = Jwks(signing_key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def sandbox_environment(jwks_url: str, **more: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "ORDER_STATE_MACHINE_ARN": STATE_MACHINE_ARN,
        "ORDERS_TABLE": TABLE,
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_JWKS_URL": jwks_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        **more,
    }


def closed_url() -> str:
    """A JWKS address where nothing listens."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}/.well-known/jwks.json"


def run_child(environment: dict[str, str], token: str, moved_to: str = "") -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, token, moved_to],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def test_a_lambda_sandbox_s_init_fetches_the_jwks_once_and_a_reset_builds_anew(
    served_jwks: Jwks, tokens: TokenFactory
) -> None:
    environment = sandbox_environment(served_jwks.url, AWS_LAMBDA_FUNCTION_NAME="ApiFunction")
    # unreachable after the import: the token is verified with the set fetched then
    answer = run_child(environment, tokens.customer(), moved_to=closed_url())
    assert answer == {
        "subject": tokens.claims()["sub"],
        "same_after_reset": False,
        "documented": True,  # the routes' models, built before any request
    }
    assert served_jwks.fetches == 1


def test_outside_a_sandbox_the_key_set_is_fetched_by_the_first_request(
    served_jwks: Jwks, tokens: TokenFactory
) -> None:
    answer = run_child(sandbox_environment(served_jwks.url), tokens.customer())
    assert answer["subject"] == tokens.claims()["sub"]
    assert not answer["documented"]
    assert served_jwks.fetches == 1  # by the verification, not by the import


def test_an_init_that_cannot_fetch_the_key_set_leaves_it_to_the_first_request(
    served_jwks: Jwks, tokens: TokenFactory
) -> None:
    """The key set not served yet at init (the runtime still starting): the import does
    not fail, and the first request fetches it (served at another address here)."""
    environment = sandbox_environment(closed_url(), AWS_LAMBDA_FUNCTION_NAME="ApiFunction")
    answer = run_child(environment, tokens.customer(), moved_to=served_jwks.url)
    assert answer["subject"] == tokens.claims()["sub"]
    assert served_jwks.fetches == 1
