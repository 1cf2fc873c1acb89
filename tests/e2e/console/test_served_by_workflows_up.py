"""`workflows up` serves the console beside its other servers and prints where."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest

from tests.ports import free_port
from workflows.console.server import serve_console
from workflows.local.runtime import LocalRuntime, Ports

REPO = Path(__file__).resolve().parents[3]


async def test_the_runtime_starts_the_console_and_prints_its_address(tmp_path: Path) -> None:
    saved = dict(os.environ)
    ports = Ports("127.0.0.1", free_port(), free_port(), free_port())
    runtime = LocalRuntime(
        REPO / "infra" / "sam" / "template.yaml",
        ports=ports,
        state_dir=tmp_path,
        servers=[serve_console(free_port())],
    )
    await runtime.start()
    try:
        [(label, address)] = runtime.addresses
        assert label == "Console"
        assert address.startswith("http://127.0.0.1:")
        assert f"Console          {address}" in runtime.banner()
        async with aiohttp.ClientSession() as http, http.get(address + "/") as answer:
            page = await answer.text()
        assert answer.status == 200
        assert "OrderProcessingStateMachine" in page
    finally:
        await runtime.stop()
        os.environ.clear()
        os.environ.update(saved)
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):  # it stopped with the runtime
            await http.get(address + "/")
