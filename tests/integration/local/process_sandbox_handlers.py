"""Handlers of the process sandbox tests. They meet and leave marks through files in the
directory the event names, since each runs in a worker process of its own."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

warm_calls = 0  # module state: kept between the invocations one sandbox handles


def _wait_for(condition: Any, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def rendezvous(event: Any, context: Any) -> int:
    """Arrive, then wait until ``expected`` invocations have arrived: they overlap."""
    here = Path(event["dir"])
    (here / f"arrived-{os.getpid()}-{context.aws_request_id}").touch()
    if not _wait_for(lambda: len(list(here.glob("arrived-*"))) >= event["expected"]):
        raise TimeoutError("the other invocations never ran alongside")
    return os.getpid()


def exclusive(event: Any, context: Any) -> int:
    """Fails if another invocation is inside this sandbox at the same time."""
    mark = Path(event["dir"]) / f"busy-{os.getpid()}"
    try:
        descriptor = os.open(mark, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        raise RuntimeError("two invocations at once in one sandbox") from None
    os.close(descriptor)
    time.sleep(0.02)
    mark.unlink()
    return os.getpid()


def held(event: Any, context: Any) -> int:
    """Waits until the test lets it go."""
    here = Path(event["dir"])
    (here / f"holding-{os.getpid()}").touch()
    if not _wait_for((here / "release").exists, 30):
        raise TimeoutError("never released")
    return os.getpid()


def quick(event: Any, context: Any) -> int:
    return os.getpid()


def crash(event: Any, context: Any) -> int:
    if event.get("crash"):
        os._exit(3)
    return os.getpid()


def hang(event: Any, context: Any) -> int:
    (Path(event["dir"]) / "pid").write_text(str(os.getpid()))
    time.sleep(60)
    return os.getpid()


def counted(event: Any, context: Any) -> dict[str, Any]:
    global warm_calls
    warm_calls += 1
    return {"pid": os.getpid(), "calls": warm_calls}


def lambda_environment(event: Any, context: Any) -> dict[str, Any]:
    names = (
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_REGION",
        "GREETING",
        "AWS_ENDPOINT_URL",
        "_HANDLER",
    )
    return {
        "environment": {name: os.environ.get(name) for name in names},
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "memory": context.memory_limit_in_mb,
    }


def fails(event: Any, context: Any) -> None:
    return event["missing"]  # type: ignore[no-any-return]


def prints(event: Any, context: Any) -> str:
    print(f"hello from {context.function_name}")
    return "printed"


def niceness(event: Any, context: Any) -> int:
    return os.nice(0)


def botocore_path(event: Any, context: Any) -> str:
    """Who sends this sandbox's botocore requests: the module of ``URLLib3Session.send``."""
    from botocore.httpsession import URLLib3Session

    return str(URLLib3Session.send.__module__)


def proxy(event: Any, context: Any) -> dict[str, Any]:
    """A Lambda proxy response, for the API Gateway in front of a sandbox."""
    return {"statusCode": 200, "body": str(os.getpid())}
