"""The Lambda contract: what ``lambda:invoke`` and a Lambda Task see and record.

The oracle is AWS as recorded in LocalStack's snapshot tests (recorded against real
AWS: ``test_lambda_task_service``, ``test_task_service_lambda``, ``test_states_errors``)
and the AWS Lambda Python runtime interface client (``awslambdaric``: how a handler's
return value and exceptions are marshalled).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from workflows.engine import RealClock, StateMachine, VirtualClock

INVOKE = "arn:aws:states:::lambda:invoke"
START = datetime(2024, 1, 1, 12, tzinfo=UTC)
FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:Fn"
LIMIT = 256 * 1024


def invoke_machine(**fields: Any) -> StateMachine:
    """One lambda:invoke state whose FunctionName and Payload come from the input."""
    state = {
        "Type": "Task",
        "Resource": INVOKE,
        "Parameters": {"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"},
        "End": True,
        **fields,
    }
    return StateMachine({"StartAt": "Start", "States": {"Start": state}})


# FunctionName only: no Payload
BARE = invoke_machine(Parameters={"FunctionName": "Fn"})


def run(sm: StateMachine, data: Any, handler: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("clock", VirtualClock(START))
    kwargs.setdefault("handler_mode", "inline")
    return sm.run(data, lambdas={"Fn": handler}, **kwargs)


def identity(event: Any, context: Any) -> Any:
    return event


def events(result: Any, event_type: str) -> list[dict[str, Any]]:
    return [event for event in result.history if event["type"] == event_type]


def details(event: dict[str, Any]) -> dict[str, Any]:
    return next(v for k, v in event.items() if k.endswith("EventDetails"))


# ----------------------------------------------------------------- the response


def test_lambda_invoke_result_has_the_shape_aws_records() -> None:
    seen: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        seen.append(context.aws_request_id)
        return event

    result = run(invoke_machine(), {"FunctionName": "Fn", "Payload": None}, handler)
    assert result.status == "SUCCEEDED", result.cause
    output = result.output
    request_id = seen[0]
    assert list(output) == [
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    ]
    assert output["ExecutedVersion"] == "$LATEST"
    assert output["Payload"] == {}
    assert output["StatusCode"] == 200
    assert output["SdkResponseMetadata"] == {"RequestId": request_id}
    metadata = output["SdkHttpMetadata"]
    assert list(metadata) == ["AllHttpHeaders", "HttpHeaders", "HttpStatusCode"]
    assert metadata["HttpStatusCode"] == 200
    # the order AWS records: AllHttpHeaders as the HTTP client reports them, each a list
    assert list(metadata["AllHttpHeaders"]) == [
        "X-Amz-Executed-Version",
        "x-amzn-Remapped-Content-Length",
        "Connection",
        "x-amzn-RequestId",
        "Content-Length",
        "Date",
        "X-Amzn-Trace-Id",
        "Content-Type",
    ]
    headers = metadata["HttpHeaders"]
    assert list(headers) == [
        "Connection",
        "Content-Length",
        "Content-Type",
        "Date",
        "X-Amz-Executed-Version",
        "x-amzn-Remapped-Content-Length",
        "x-amzn-RequestId",
        "X-Amzn-Trace-Id",
    ]
    assert metadata["AllHttpHeaders"] == {name: [value] for name, value in headers.items()}
    assert headers["Connection"] == "keep-alive"
    assert headers["Content-Length"] == "2"  # b"{}"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Amz-Executed-Version"] == "$LATEST"
    assert headers["x-amzn-Remapped-Content-Length"] == "0"
    assert headers["x-amzn-RequestId"] == request_id
    assert re.fullmatch(
        r"root=1-[0-9a-f]{8}-[0-9a-f]{24};parent=[0-9a-f]{16};sampled=0", headers["X-Amzn-Trace-Id"]
    )
    # RFC 1123, on the execution's clock
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", headers["Date"])
    assert parsedate_to_datetime(headers["Date"]) == START


def test_content_length_is_the_body_the_python_runtime_sends() -> None:
    # the runtime's JSON encoder puts a space after ':' and ','
    result = run(invoke_machine(), {"FunctionName": "Fn", "Payload": {"a": [1, 2]}}, identity)
    headers = result.output["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["Content-Length"] == str(len(b'{"a": [1, 2]}'))


def test_log_type_tail_returns_the_last_4_kb_of_the_invocation_log() -> None:
    def chatty(event: Any, context: Any) -> Any:
        print("hello from the handler")
        logging.getLogger("app").warning("careful")
        return event

    sm = invoke_machine(
        Parameters={
            "FunctionName.$": "$.FunctionName",
            "Payload.$": "$.Payload",
            "LogType": "Tail",
        }
    )
    result = run(sm, {"FunctionName": "Fn", "Payload": None}, chatty)
    output = result.output
    assert list(output)[:3] == ["ExecutedVersion", "LogResult", "Payload"]
    all_headers = output["SdkHttpMetadata"]["AllHttpHeaders"]
    assert next(iter(all_headers)) == "X-Amz-Log-Result"
    assert all_headers["X-Amz-Log-Result"] == [output["LogResult"]]
    assert output["SdkHttpMetadata"]["HttpHeaders"]["X-Amz-Log-Result"] == output["LogResult"]
    log = base64.b64decode(output["LogResult"]).decode()
    request_id = output["SdkResponseMetadata"]["RequestId"]
    lines = log.splitlines()
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert "hello from the handler" in lines
    assert any(re.fullmatch(rf"\[WARNING\]\t\S+Z\t{request_id}\tcareful", line) for line in lines)
    assert f"END RequestId: {request_id}" in lines
    assert re.fullmatch(
        rf"REPORT RequestId: {request_id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\t",
        lines[-1],
    )


def test_the_log_tail_keeps_only_the_last_4_kb() -> None:
    def loud(event: Any, context: Any) -> Any:
        for n in range(500):
            print(f"line {n:04d} " + "x" * 40)
        return None

    sm = invoke_machine(
        Parameters={"FunctionName": "Fn", "LogType": "Tail"},
    )
    result = run(sm, {}, loud)
    log = base64.b64decode(result.output["LogResult"])
    assert len(log) == 4096
    assert log.decode().rstrip("\n").splitlines()[-1].startswith("REPORT RequestId: ")
    assert b"line 0000" not in log


def test_without_log_type_nothing_is_logged_in_the_result() -> None:
    result = run(invoke_machine(), {"FunctionName": "Fn", "Payload": {}}, identity)
    assert "LogResult" not in result.output
    assert "X-Amz-Log-Result" not in result.output["SdkHttpMetadata"]["HttpHeaders"]


# ------------------------------------------------------------------ the payload


@pytest.mark.parametrize(
    ("payload", "received", "content_length"),
    [
        ('"HelloWorld"', "HelloWorld", 12),
        ("0.0", 0.0, 3),
        ("0", 0, 1),
        ("true", True, 4),
        ("{}", {}, 2),
        ("[]", [], 2),
        ("null", None, 4),
        (json.dumps("'{'Hello':'World'}'"), "'{'Hello':'World'}'", 21),
    ],
)
def test_a_string_payload_is_sent_as_the_json_text_it_holds(
    payload: str, received: Any, content_length: int
) -> None:
    got: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        got.append(event)
        return event

    result = run(invoke_machine(), {"FunctionName": "Fn", "Payload": payload}, handler)
    assert result.status == "SUCCEEDED", result.cause
    assert got == [received]
    assert type(got[0]) is type(received)  # "0.0" arrives as a float, "0" as an int
    assert result.output["Payload"] == received
    assert type(result.output["Payload"]) is type(received)
    headers = result.output["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["Content-Length"] == str(content_length)


@pytest.mark.parametrize(
    "parameters", [{"FunctionName": "Fn"}, {"FunctionName": "Fn", "Payload": None}]
)
def test_a_null_or_absent_payload_reaches_the_function_as_an_empty_object(
    parameters: dict[str, Any],
) -> None:
    got: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        got.append(event)
        return "ok"

    sm = invoke_machine(Parameters=parameters)
    result = run(sm, {"ignored": "state input"}, handler)
    assert result.status == "SUCCEEDED", result.cause
    assert got == [{}]


def test_a_string_payload_that_is_not_json_is_refused_by_lambda() -> None:
    called: list[Any] = []
    result = run(invoke_machine(), {"FunctionName": "Fn", "Payload": "test data"}, called.append)
    assert result.status == "FAILED"
    assert called == []
    assert result.error == "Lambda.InvalidRequestContentException"
    assert result.cause.startswith(
        "Could not parse request body into json: Could not parse payload into json: "
        "Unrecognized token 'test': was expecting (JSON String, Number, Array, Object or "
        "token 'null', 'true' or 'false')\n"
        ' at [Source: (byte[])"test data"; line: 1, column: 6] (Service: AWSLambda; '
        "Status Code: 400; Error Code: InvalidRequestContentException; Request ID: "
    )
    assert result.cause.endswith("; Proxy: null)")


# ------------------------------------------------------------ the handler's result


def test_bytes_are_the_response_body_as_they_are() -> None:
    result = run(
        invoke_machine(),
        {"FunctionName": "Fn", "Payload": None},
        lambda event, context: b'"HelloWorld!"',
    )
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["Payload"] == "HelloWorld!"
    assert result.output["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"] == "13"


def test_bytes_that_are_not_json_come_back_as_text() -> None:
    result = run(BARE, {}, lambda event, context: b"plain words")
    assert result.output["Payload"] == "plain words"


def test_a_str_result_is_sent_as_a_json_string() -> None:
    result = run(BARE, {}, lambda event, context: '{"a": 1}')
    assert result.output["Payload"] == '{"a": 1}'  # a string, not an object


def test_legacy_resource_takes_bytes_and_str_results_as_the_runtime_sends_them() -> None:
    sm = StateMachine(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN_ARN, "End": True}}}
    )
    assert run(sm, {}, lambda event, context: b'{"a": [1]}').output == {"a": [1]}
    assert run(sm, {}, lambda event, context: "text").output == "text"


def test_a_result_over_256_kib_fails_with_data_limit_exceeded_naming_lambda() -> None:
    big = b"a" * (257 * 1024)
    result = run(BARE, {}, lambda event, context: big)
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    assert result.cause == (
        "The state/task 'lambda' returned a result with a size exceeding the maximum "
        "number of bytes service limit."
    )
    failed = events(result, "TaskFailed")
    assert details(failed[0])["error"] == "States.DataLimitExceeded"
    assert not events(result, "TaskSucceeded")


def test_a_result_that_is_not_json_fails_with_runtime_marshal_error() -> None:
    result = run(BARE, {}, lambda event, context: {1, 2})
    assert result.error == "Runtime.MarshalError"
    cause = json.loads(result.cause)
    assert cause["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert cause["errorType"] == "Runtime.MarshalError"
    assert cause["stackTrace"] == []


# ----------------------------------------------------------------------- errors


class PaymentDeclined(Exception):
    pass


def _declined(event: Any, context: Any) -> Any:
    raise PaymentDeclined("card déclinée")


def test_a_function_error_through_lambda_invoke_is_serialized_compactly() -> None:
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}]
    sm = StateMachine(
        {
            "StartAt": "Start",
            "States": {
                "Start": {
                    "Type": "Task",
                    "Resource": INVOKE,
                    "Parameters": {"FunctionName": "Fn"},
                    "Catch": catch,
                    "End": True,
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        }
    )
    result = run(sm, {}, _declined)
    assert result.output["Error"] == "PaymentDeclined"
    cause = result.output["Cause"]
    assert cause.startswith('{"errorMessage":"card déclinée","errorType":"PaymentDeclined",')
    document = json.loads(cause)
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert cause == json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    assert document["stackTrace"][0].startswith(f'  File "{__file__}", line ')
    failed = details(events(result, "TaskFailed")[0])
    assert failed["cause"] == cause


def test_the_legacy_resource_keeps_the_runtimes_spaced_error_text() -> None:
    sm = StateMachine(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN_ARN, "End": True}}}
    )
    result = run(sm, {}, _declined)
    assert result.error == "PaymentDeclined"
    document = json.loads(result.cause)
    assert result.cause == json.dumps(document)  # ", " and ": ", non-ASCII escaped
    assert result.cause.startswith('{"errorMessage": "card d\\u00e9clin\\u00e9e", ')


@pytest.mark.parametrize(
    ("function", "named"),
    [
        ("Missing", "arn:aws:lambda:us-east-1:123456789012:function:Missing:$LATEST"),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:Missing",
            "arn:aws:lambda:us-east-1:123456789012:function:Missing:$LATEST",
        ),
        ("Missing:live", "arn:aws:lambda:us-east-1:123456789012:function:Missing:live"),
    ],
)
def test_resource_not_found_names_the_function_arn_with_its_version(
    function: str, named: str
) -> None:
    sm = invoke_machine(Parameters={"FunctionName": function})
    result = run(sm, {}, identity)
    assert result.error == "Lambda.ResourceNotFoundException"
    assert re.fullmatch(
        re.escape(f"Function not found: {named} (Service: AWSLambda; Status Code: 404; ")
        + r"Error Code: ResourceNotFoundException; Request ID: [0-9a-f-]{36}; Proxy: null\)",
        result.cause,
    )


async def test_a_caught_timeout_of_lambda_invoke_carries_an_empty_cause() -> None:
    clock = VirtualClock(START)

    async def slow(event: Any, context: Any) -> Any:
        await clock.sleep(60)
        return event

    sm = StateMachine(
        {
            "StartAt": "Start",
            "States": {
                "Start": {
                    "Type": "Task",
                    "Resource": INVOKE,
                    "Parameters": {"FunctionName": "Fn"},
                    "TimeoutSeconds": 5,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                    "End": True,
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        }
    )
    result = await sm.execute({}, lambdas={"Fn": slow}, clock=clock)
    assert result.output == {"Error": "States.Timeout", "Cause": ""}
    timed_out = details(events(result, "TaskTimedOut")[0])
    assert timed_out == {"resourceType": "lambda", "resource": "invoke", "error": "States.Timeout"}


# ------------------------------------------------------------------- OutputPath


def _output_path_machine(output_path: str, catch: list[str]) -> StateMachine:
    return StateMachine(
        {
            "StartAt": "Start",
            "States": {
                "Start": {
                    "Type": "Task",
                    "Resource": INVOKE,
                    "Parameters": {"FunctionName": "Fn", "Payload": {"x": 1}},
                    "OutputPath": output_path,
                    "Retry": [{"ErrorEquals": catch, "MaxAttempts": 2}],
                    "Catch": [{"ErrorEquals": catch, "Next": "Handled"}],
                    "End": True,
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        }
    )


@pytest.mark.parametrize("catch", [["States.Runtime"], ["States.ALL"]])
def test_output_path_failing_on_the_result_is_neither_retried_nor_caught(
    catch: list[str],
) -> None:
    calls: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        calls.append(event)
        return event

    result = run(_output_path_machine("$.no.such.path", catch), {}, handler)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == (
        "An error occurred while executing the state 'Start' (entered at the event id #2). "
        "Invalid path '$.no.such.path' : Missing property in path $['no']"
    )
    assert len(calls) == 1
    assert not events(result, "PassStateEntered")


def test_output_path_missing_its_last_property_reports_no_results() -> None:
    result = run(_output_path_machine("$.Payload.nope", ["States.Runtime"]), {}, identity)
    assert result.cause.endswith(
        "Invalid path '$.Payload.nope' : No results for path: $['Payload']['nope']"
    )


def test_a_task_result_error_is_still_caught_when_output_path_is_set() -> None:
    # OutputPath applies to a result, not to what a Catch passes on
    sm = _output_path_machine("$.no.such.path", ["PaymentDeclined"])
    result = run(sm, {}, _declined)
    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == "PaymentDeclined"


# ------------------------------------------------------- logs of concurrent handlers


def test_each_invocation_logs_only_its_own_output_in_threads() -> None:
    started = threading.Barrier(2, timeout=10)

    def speaker(event: Any, context: Any) -> Any:
        started.wait()  # both handlers run at the same time
        for _ in range(20):
            print(f"I am {event['who']}")
        return event

    def branch(who: str) -> dict[str, Any]:
        return {
            "StartAt": who,
            "States": {
                who: {
                    "Type": "Task",
                    "Resource": INVOKE,
                    "Parameters": {
                        "FunctionName": "Fn",
                        "Payload": {"who": who},
                        "LogType": "Tail",
                    },
                    "End": True,
                }
            },
        }

    sm = StateMachine(
        {
            "StartAt": "Both",
            "States": {
                "Both": {"Type": "Parallel", "Branches": [branch("A"), branch("B")], "End": True}
            },
        }
    )
    result = sm.run({}, lambdas={"Fn": speaker}, clock=VirtualClock(START), handler_mode="thread")
    assert result.status == "SUCCEEDED", result.cause
    for output, who, other in zip(result.output, "AB", "BA", strict=True):
        log = base64.b64decode(output["LogResult"]).decode()
        assert log.count(f"I am {who}\n") == 20
        assert f"I am {other}" not in log


async def test_an_async_handler_logs_into_its_own_tail() -> None:
    async def speaker(event: Any, context: Any) -> Any:
        print("from a coroutine")
        return None

    sm = invoke_machine(Parameters={"FunctionName": "Fn", "LogType": "Tail"})
    result = await sm.execute({}, lambdas={"Fn": speaker}, clock=VirtualClock(START))
    assert "from a coroutine\n" in base64.b64decode(result.output["LogResult"]).decode()


def test_a_handler_still_blocking_after_its_timeout_does_not_hold_up_the_run() -> None:
    # as on AWS, the function runs on after Step Functions stopped waiting for it; the
    # execution ends when the timeout fires, not when the thread returns
    release = threading.Event()

    def blocking(event: Any, context: Any) -> Any:
        release.wait(10)
        return event

    sm = invoke_machine(Parameters={"FunctionName": "Fn"}, TimeoutSeconds=1)
    began = time.monotonic()
    try:
        result = sm.run({}, lambdas={"Fn": blocking}, clock=RealClock(), handler_mode="thread")
    finally:
        release.set()
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert time.monotonic() - began < 5


def _mutating_branches(mode: str) -> tuple[Any, list[Any], list[Any]]:
    """A Parallel whose two branch handlers (one Task each, the same input object) and a
    Task after it change their events."""
    seen: list[Any] = []

    def mutate(event: Any, context: Any) -> Any:
        seen.append(json.loads(json.dumps(event)))
        event["order"]["items"].append("added by " + context.function_name)
        event["touched"] = True
        return event

    lambda_ = "arn:aws:lambda:us-east-1:123456789012:function:"
    branch = lambda name: {  # noqa: E731
        "StartAt": name,
        "States": {name: {"Type": "Task", "Resource": lambda_ + name, "End": True}},
    }
    machine = StateMachine(
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [branch("A"), branch("B")],
                    "ResultPath": "$.branches",
                    "Next": "Again",
                },
                "Again": {
                    "Type": "Task",
                    "Resource": lambda_ + "C",
                    "ResultPath": None,
                    "End": True,
                },
            },
        }
    )
    order = {"order": {"items": ["x"]}}
    result = machine.run(order, lambdas={"A": mutate, "B": mutate, "C": mutate}, handler_mode=mode)  # type: ignore[arg-type]
    scheduled = [
        json.loads(event["lambdaFunctionScheduledEventDetails"]["input"])
        for event in result.history
        if event["type"] == "LambdaFunctionScheduled"
    ]
    return result, seen, scheduled


@pytest.mark.parametrize("mode", ["thread", "inline"])
def test_handlers_given_one_input_object_each_get_a_copy_of_it(mode: str) -> None:
    """A handler may change its event: neither the execution, nor another handler given
    the same input object (a Parallel's branches), sees it."""
    result, seen, scheduled = _mutating_branches(mode)
    original = {"order": {"items": ["x"]}}
    # each branch's result is what its own handler made of its own copy
    branches = [
        {"order": {"items": ["x", "added by A"]}, "touched": True},
        {"order": {"items": ["x", "added by B"]}, "touched": True},
    ]
    after = {**original, "branches": branches}
    assert result.status == "SUCCEEDED"
    assert seen == [original, original, after]
    assert scheduled == [original, original, after]
    assert result.output == after
