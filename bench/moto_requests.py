"""moto's server process alone: its CPU per boto3 request, as `workflows up` serves moto.

    .venv/bin/python -m bench.moto_requests                        # this checkout
    .venv/bin/python -m bench.moto_requests --checkout /tmp/before  # another one's

It starts a process that serves moto with the checkout's ``moto_server`` (the journal
on, ``patch_transactions`` applied, as ``python -m workflows.local.aws_services`` does),
then runs a DynamoDB loop from concurrent boto3 clients in this process (PutItem, an
UpdateItem with a condition, GetItem, over a few hundred keys) and prints the server
process's CPU (from /proc) per request and the requests per second. Narrower than
``bench.local_load``, and steadier on a shared machine: one process, one kind of work.
Figures go to docs/benchmarks.md; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent.parent

_SERVER = """
import sys
from pathlib import Path
from workflows.local.aws_services import moto_server
from workflows.local.moto_patches import patch_transactions
from workflows.local.service_journal import ServiceJournal
patch_transactions()
server = moto_server("127.0.0.1", {port}, ServiceJournal(Path({state!r})))
print("ready", flush=True)
server.serve_forever()
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.moto_requests")
    parser.add_argument("--checkout", type=Path, default=HERE, help="whose moto_server")
    parser.add_argument("--rounds", type=int, default=150, help="loops per client")
    parser.add_argument("--clients", type=int, default=4)
    options = parser.parse_args()
    checkout = options.checkout.resolve()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as state:
        server = subprocess.Popen(
            [sys.executable, "-c", _SERVER.format(port=port, state=state)],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(checkout)},
            cwd=checkout,
        )
        try:
            assert server.stdout is not None
            server.stdout.readline()
            url = f"http://127.0.0.1:{port}"
            _run(server.pid, url, options)
        finally:
            server.kill()
            server.wait()


def _client(url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def _run(pid: int, url: str, options: argparse.Namespace) -> None:
    _client(url).create_table(
        TableName="Loop",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # journaling on, as after `workflows up` provisioned the template
    recover = urllib.request.Request(f"{url}/_workflows/services/recover", method="POST", data=b"")
    urllib.request.urlopen(recover, timeout=60).close()

    def loop(client_number: int, rounds: int) -> None:
        dynamodb = _client(url)
        for number in range(rounds):
            key = {"pk": {"S": f"{client_number}-{number % 50}"}}
            dynamodb.put_item(TableName="Loop", Item={**key, "n": {"N": "1"}})
            dynamodb.update_item(
                TableName="Loop",
                Key=key,
                UpdateExpression="SET n = n + :one, note = :note",
                ConditionExpression="attribute_exists(pk) AND n < :most",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":note": {"S": str(number)},
                    ":most": {"N": "1000000"},
                },
            )
            dynamodb.get_item(TableName="Loop", Key=key)

    loop(-1, 20)  # warm: moto's first requests load models
    cpu, started = _cpu_seconds(pid), time.monotonic()
    threads = [
        threading.Thread(target=loop, args=(number, options.rounds))
        for number in range(options.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu, took = _cpu_seconds(pid) - cpu, time.monotonic() - started
    requests = 3 * options.rounds * options.clients
    print(f"checkout         {options.checkout.resolve()}")
    print(f"requests         {requests} from {options.clients} clients in {took:.1f} s")
    print(f"moto's CPU       {1000 * cpu / requests:.2f} ms per request")
    print(f"throughput       {requests / took:.0f} requests/s")


if __name__ == "__main__":
    main()
