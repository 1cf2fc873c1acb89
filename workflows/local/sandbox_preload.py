"""What the sandboxes' fork server imports once, so that a new sandbox does not.

``workflows up`` runs each Lambda sandbox as a process forked from one fork server
(``sandbox_pool.py``). The fork server imports this module before it forks anything:
the libraries Lambda handlers of this project spend their cold start importing
(boto3 and botocore, Powertools, pydantic, PyJWT) and the botocore models of the
services they call, parsed once into a shared data loader. A forked sandbox inherits
all of it (copy-on-write), so its cold start is the import of its own handler module.

Only third-party code is imported here, never the application's: a handler module
reads its function's environment variables when it is imported, and the fork server
does not have them (each sandbox sets its own before importing its handler).
A library that is not installed is skipped.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os

__all__ = ["LIBRARIES", "SERVICES", "warm"]

LIBRARIES = (
    "boto3",
    "boto3.dynamodb.conditions",
    "botocore.session",
    "pydantic",
    "jwt",
    "orjson",
    "aws_lambda_powertools",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.tracing",
    "aws_lambda_powertools.utilities.typing",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.data_classes",
    "aws_lambda_powertools.event_handler",
    "workflows.engine.lambdas",
    "workflows.engine.sync_runner",
    "workflows.local.sandbox_pool",  # the sandbox's own loop
    "workflows.local.sandbox_botocore",  # installed by each sandbox
)

# the services whose models a sandbox would otherwise parse on its first client
SERVICES = ("dynamodb", "sqs", "sns", "ses", "events", "stepfunctions", "s3")


def warm() -> None:
    for name in LIBRARIES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    if os.environ.get("WORKFLOWS_SANDBOX_PLAIN_BOTOCORE", "") != "1":
        # what every new session computes the same, computed by this one for all of them
        from workflows.local.sandbox_botocore import install_session_caches

        install_session_caches()
    from workflows.local.shared_loader import share_botocore_loader

    share_botocore_loader()
    import boto3

    # building a client reads everything it needs (service model, endpoint rules,
    # partitions, retry config) into the shared loader; the clients themselves go
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="warm", aws_secret_access_key="warm"
    )
    for service in SERVICES:
        with contextlib.suppress(Exception):
            session.client(service, endpoint_url="http://127.0.0.1:9")
    with contextlib.suppress(Exception):
        session.resource("dynamodb", endpoint_url="http://127.0.0.1:9")
    del session
    # what was built lives as long as every sandbox: out of the collector's sight, so a
    # collection in a sandbox does not write to (and so copy) the pages it shares
    gc.collect()
    gc.freeze()


warm()
