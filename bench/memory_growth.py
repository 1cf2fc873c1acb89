"""What grew in the runtime's memory between two probes of `workflows up`.

    .venv/bin/python -m bench.memory_growth DIR            # probe-1 against the last one
    .venv/bin/python -m bench.memory_growth DIR --top 30 --tracebacks 5

DIR is what ``WORKFLOWS_MEMORY_PROFILE`` named (``workflows/local/memory_probe.py``);
``bench.local_load --memory-profile`` fills one and prints this report itself. It
prints the RSS of each probe (as found, after a full collection, after
``malloc_trim``), the growth of traced memory by file and line, the tracebacks of the
largest growths, and the live objects whose count grew most.
"""

from __future__ import annotations

import argparse
import json
import tracemalloc
from pathlib import Path
from typing import Any

IGNORED = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
)


def _short(filename: str) -> str:
    """A file name without the interpreter's or the checkout's prefix."""
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    for marker in ("/workflows/", "/tasks/", "/bench/"):
        if marker in filename:
            return marker[1:] + filename.split(marker, 1)[1]
    return filename


def report(
    directory: Path, first: int = 1, last: int | None = None, top: int = 25, tracebacks: int = 4
) -> str:
    numbers = sorted(int(p.stem.split("-")[1]) for p in directory.glob("probe-*.json"))
    if len(numbers) < 2:
        return f"fewer than two probes in {directory}"
    last = numbers[-1] if last is None else last
    lines: list[str] = []
    records: dict[int, dict[str, Any]] = {
        n: json.loads((directory / f"probe-{n}.json").read_text()) for n in (first, last)
    }
    for n, r in records.items():
        lines.append(
            f"probe {n}: RSS {r['rss_mb']:.0f} MB, traced {r.get('traced_mb', 0):.0f} MB, "
            f"{r['tracked_objects']:,} objects tracked; a full collection found "
            f"{r['garbage_found']:,} unreachable: RSS {r['rss_after_collect_mb']:.0f} MB; "
            f"after malloc_trim {r['rss_after_trim_mb']:.0f} MB"
        )
    for r in records.values():
        m = r.get("pymalloc", {})
        kept = r.get("pymalloc_after_collect", {})
        lines.append(
            f"  pymalloc: {m.get('arenas', 0)} arenas of 1 MiB; objects "
            f"{m.get('allocated_bytes', 0) / 2**20:.0f} MB, "
            f"{kept.get('allocated_bytes', 0) / 2**20:.0f} MB reachable after the collection; "
            f"free in used pools {kept.get('available_bytes', 0) / 2**20:.0f} MB; "
            f"{r.get('threads')} threads"
        )
        for key in ("mappings", "mappings_after_trim"):
            kinds = r.get(key, {})
            shown = ", ".join(f"{k} {v:.0f}" for k, v in sorted(kinds.items(), key=lambda i: -i[1]))
            label = " after trim" if "trim" in key else ""
            lines.append(f"  resident MB by mapping{label}: {shown}")
        if "tracemalloc_own_mb" in r:
            lines.append(f"  tracemalloc's own bookkeeping {r['tracemalloc_own_mb']:.0f} MB")
        elsewhere = r.get("moto_items_elsewhere") or {}
        if elsewhere:
            lines.append(
                f"  moto Items reachable: {elsewhere['in_tables']:,} in tables, "
                f"{elsewhere['count']:,} elsewhere"
            )
    a, b = records[first], records[last]
    lines.append(
        f"growth: RSS +{b['rss_mb'] - a['rss_after_trim_mb']:.0f} MB from probe {first}'s "
        f"trimmed RSS; traced +{b.get('traced_mb', 0) - a.get('traced_mb', 0):.0f} MB"
    )
    before_path = directory / f"probe-{first}.tracemalloc"
    after_path = directory / f"probe-{last}.tracemalloc"
    if before_path.exists() and after_path.exists():
        before = tracemalloc.Snapshot.load(str(before_path)).filter_traces(IGNORED)
        after = tracemalloc.Snapshot.load(str(after_path)).filter_traces(IGNORED)
        lines.append("")
        lines.append(f"traced growth by line (top {top}):")
        for stat in after.compare_to(before, "lineno")[:top]:
            frame = stat.traceback[0]
            lines.append(
                f"  {stat.size_diff / 2**20:+8.2f} MB {stat.count_diff:+9,} blocks  "
                f"{_short(frame.filename)}:{frame.lineno}"
            )
        lines.append("")
        lines.append(f"largest growths by traceback (top {tracebacks}):")
        for stat in after.compare_to(before, "traceback")[:tracebacks]:
            lines.append(f"  {stat.size_diff / 2**20:+.2f} MB {stat.count_diff:+,} blocks")
            for frame in list(stat.traceback)[::-1][:12]:
                lines.append(f"      {_short(frame.filename)}:{frame.lineno}")
    lines.append("")
    for key, title in (
        ("objects", "live objects whose count grew most, garbage included"),
        ("objects_after_collect", "reachable objects whose count grew most (after a collection)"),
    ):
        if key not in b:
            continue
        lines.append(f"{title} (top {top}):")
        was = dict(a.get(key, []))
        grown = sorted(((n - was.get(t, 0), t, n) for t, n in b[key]), reverse=True)
        for diff, name, now in grown[:top]:
            lines.append(f"  {diff:+9,} {name} ({now:,})")
    if b.get("moto_tables"):
        tables = dict(b["moto_tables"])
        grown_bytes = tables.pop("bytes of all items", 0) - dict(a.get("moto_tables", {})).get(
            "bytes of all items", 0
        )
        shown = ", ".join(f"{name.split('/')[-1]} {n:,}" for name, n in sorted(tables.items()))
        lines.append(
            f"moto's DynamoDB items by table: {shown}; they grew {grown_bytes / 2**20:.1f} MB"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--last", type=int, default=None)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--tracebacks", type=int, default=4)
    options = parser.parse_args()
    print(report(options.directory, options.first, options.last, options.top, options.tracebacks))


if __name__ == "__main__":
    main()
