"""What the runtime's memory is made of, on demand (issue #13's memory investigation).

Off unless ``WORKFLOWS_MEMORY_PROFILE`` names a directory when ``workflows up`` starts.
Then ``tracemalloc`` traces allocations from the start (``WORKFLOWS_MEMORY_FRAMES``
frames per traceback, 12 by default; 0 traces nothing; tracing slows the process down
and its own bookkeeping is resident memory too, so figures of speed and RSS from a
traced run mean little), and each ``SIGUSR1`` writes a numbered probe into
the directory:

- ``probe-N.tracemalloc``: the tracemalloc snapshot (``tracemalloc.Snapshot.load``);
- ``probe-N.json``: RSS, live objects by type, then RSS after a full collection and
  after ``malloc_trim(0)`` (what the C allocator holds freed but not given back).

The probe collects and trims *after* taking the snapshot and the counts, so it
changes what the process holds from then on. ``bench.local_load --memory-profile``
takes one probe after the start and one after the load and prints what grew
(``bench/memory_growth.py``).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = [
    "ENVIRONMENT",
    "install_from_environment",
    "malloc_trim",
    "probe",
    "rss_mb",
    "trim_when_grown",
]

ENVIRONMENT = "WORKFLOWS_MEMORY_PROFILE"


def rss_mb() -> float:
    """This process's resident memory in MB (Linux; NaN elsewhere)."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return float("nan")
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def malloc_trim() -> bool:
    """Ask glibc to give freed heap memory back to the system; False where there is none."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # e.g. musl has no malloc_trim
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True


def pymalloc_stats() -> dict[str, int]:
    """Python's small-object allocator: arenas held, and bytes in use or free in them."""
    wanted = {
        "arenas allocated current": "arenas",
        "arenas highwater mark": "arenas_highwater",
        "bytes in allocated blocks": "allocated_bytes",
        "bytes in available blocks": "available_bytes",
        "bytes in free pools": "free_pool_bytes",
    }
    found: dict[str, int] = {}
    with tempfile.TemporaryFile(mode="w+b") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)  # the statistics are printed by C on stderr
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    for line in text.splitlines():
        match = re.match(r"#\s*(.+?)\s*=\s*([\d,]+)$", line)
        if match and match.group(1) in wanted:
            found[wanted[match.group(1)]] = int(match.group(2).replace(",", ""))
    return found


def resident_by_mapping() -> dict[str, float]:
    """Resident MB by kind of mapping: the brk heap, anonymous mappings, files, stacks."""
    kinds: dict[str, float] = {}
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return kinds
    kind = "anonymous"
    for line in lines:
        fields = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            name = fields[5] if len(fields) > 5 else ""
            if name == "[heap]":
                kind = "heap"
            elif name.startswith("[stack"):
                kind = "stack"
            elif name.startswith("/"):
                kind = "files"
            elif name:
                kind = "other"
            else:
                kind = "anonymous"
        elif fields and fields[0] == "Rss:":
            kinds[kind] = kinds.get(kind, 0.0) + int(fields[1]) / 1024
    return kinds


def moto_tables() -> dict[str, int]:
    """Items in each DynamoDB table moto serves from this process (none if it does not)."""
    if "moto.dynamodb.models" not in sys.modules:
        return {}
    from moto.dynamodb.models import dynamodb_backends

    counts: dict[str, int] = {}
    seen: set[int] = set()
    size = 0
    for account_id in list(dynamodb_backends.keys()):
        for region in list(dynamodb_backends[account_id].keys()):
            backend = dynamodb_backends[account_id][region]
            for name, table in list(backend.tables.items()):
                counts[f"{region}/{name}"] = len(table)
                size += _deep_size(table.items, seen)
    counts["bytes of all items"] = size
    return counts


def _deep_size(value: Any, seen: set[int]) -> int:
    """Bytes of ``value`` and what it holds (containers, moto's Items and DynamoTypes)."""
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        for key, item in value.items():
            size += _deep_size(key, seen) + _deep_size(item, seen)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            size += _deep_size(item, seen)
    elif hasattr(value, "__dict__") and type(value).__module__.startswith("moto."):
        size += _deep_size(vars(value), seen)
    return size


def moto_items_elsewhere(samples: int = 5) -> dict[str, Any]:
    """moto Items reachable but not in any table, and what holds a few of them."""
    if "moto.dynamodb.models" not in sys.modules:
        return {}
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import Item

    in_tables: set[int] = set()
    for account_id in list(dynamodb_backends.keys()):
        for region in list(dynamodb_backends[account_id].keys()):
            for table in list(dynamodb_backends[account_id][region].tables.values()):
                for value in list(table.items.values()):
                    group = value.values() if isinstance(value, dict) else [value]
                    in_tables.update(id(item) for item in group)
    others = [o for o in gc.get_objects() if isinstance(o, Item) and id(o) not in in_tables]
    holders: list[list[str]] = []
    sample = others[:samples]
    own = {id(others), id(sample), id(holders)}
    for item in sample:
        chain: list[str] = []
        current: Any = item
        for _ in range(5):  # a few steps up the referrers
            referrers = [
                r
                for r in gc.get_referrers(current)
                if id(r) not in own and not isinstance(r, type(sys._getframe()))
            ]
            if not referrers:
                break
            own.add(id(referrers))
            current = referrers[0]
            size = f" len={len(current)}" if hasattr(current, "__len__") else ""
            keys = f" keys={list(current)[:4]}" if isinstance(current, dict) else ""
            chain.append(type(current).__qualname__ + size + keys)
        holders.append(chain)
    return {"count": len(others), "in_tables": len(in_tables), "holders": holders}


def live_objects_by_type(top: int = 60) -> list[tuple[str, int]]:
    """The most numerous types among the objects the collector tracks."""
    counts = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())
    return counts.most_common(top)


def probe(directory: Path, number: int) -> Path:
    """Write probe ``number`` into ``directory`` (see the module's doc); its JSON path."""
    directory.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {"time": time.time(), "rss_mb": rss_mb()}
    record["mappings"] = resident_by_mapping()
    record["pymalloc"] = pymalloc_stats()
    record["threads"] = threading.active_count()
    if tracemalloc.is_tracing():
        record["traced_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
        record["tracemalloc_own_mb"] = tracemalloc.get_tracemalloc_memory() / 2**20
        tracemalloc.take_snapshot().dump(str(directory / f"probe-{number}.tracemalloc"))
    record["objects"] = live_objects_by_type()
    record["tracked_objects"] = len(gc.get_objects())
    record["garbage_found"] = gc.collect()
    # what is still reachable: the counts above include garbage not collected yet
    record["objects_after_collect"] = live_objects_by_type()
    record["moto_tables"] = moto_tables()
    record["moto_items_elsewhere"] = moto_items_elsewhere()
    record["rss_after_collect_mb"] = rss_mb()
    started = time.perf_counter()
    record["trimmed"] = malloc_trim()
    record["trim_seconds"] = time.perf_counter() - started
    record["rss_after_trim_mb"] = rss_mb()
    record["mappings_after_trim"] = resident_by_mapping()
    record["pymalloc_after_collect"] = pymalloc_stats()
    path = directory / f"probe-{number}.json"
    path.write_text(json.dumps(record, indent=1))
    return path


def install_from_environment() -> bool:
    """Start tracing and answer SIGUSR1 with a probe if the environment asks for it."""
    where = os.environ.get(ENVIRONMENT)
    if not where:
        return False
    directory = Path(where)
    frames = int(os.environ.get("WORKFLOWS_MEMORY_FRAMES", "12"))
    if frames > 0:  # 0: probes without tracing (RSS as without the probe)
        tracemalloc.start(frames)
    taken = [0]

    def on_signal(_signum: int, _frame: Any) -> None:
        taken[0] += 1
        try:
            probe(directory, taken[0])
        except Exception as problem:  # a probe must never stop the runtime
            (directory / f"probe-{taken[0]}.error").write_text(repr(problem))

    signal.signal(signal.SIGUSR1, on_signal)
    return True


async def trim_when_grown(interval: float = 30.0, step_mb: float = 16.0) -> None:
    """Every ``interval`` seconds, give freed heap back with ``malloc_trim`` if the RSS
    grew by ``step_mb`` since the last trim (glibc keeps what a burst freed, per arena).

    Measured under ``workflows up`` (docs/benchmarks-history.md, issue #13): 5-18 MB of the
    runtime's RSS after a load was freed memory glibc had kept; a trim took a few ms.
    """
    last = rss_mb()
    while True:
        await asyncio.sleep(interval)
        if rss_mb() - last < step_mb:
            continue
        if not await asyncio.to_thread(malloc_trim):
            return  # not glibc: nothing to trim
        last = rss_mb()
