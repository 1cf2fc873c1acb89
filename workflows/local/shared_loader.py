"""One botocore data loader for every botocore session of the local runtime's process.

Each botocore session builds its own data loader, which parses the endpoint rules and
every service model it needs from JSON (hundreds of milliseconds of CPU in all, each
time). ``workflows run`` and ``workflows up`` run many SDK users in one process: the
runtime's service integrations, every function's sandbox (``tasks.common.aws``) and
moto's backends, each with sessions of their own. ``share_botocore_loader`` makes
botocore's loader factory hand out one loader per search path, so each model is
parsed once per process. moto's own model lookups build a new loader per service,
and a new loader lists every service folder of botocore before its first model
(about 400 directories); moto's factory hands out one loader too, which takes the
list of services from the shared loader (moto's folder adds "moto-extras" to
botocore's models, never a model of its own, so the lists are equal and listing them
once is enough: ~20 ms of CPU, and more of wall time on a busy disk). A loader only
reads files and caches what it parsed; sessions, credentials and clients stay
separate. It is the runtime's choice for its own process, never done on import, and
never in the task code that ships to Lambda.

These loaders parse with orjson (``_OrjsonFileLoader``): botocore's own reader builds
every JSON object as an ``OrderedDict`` through a Python hook, ~3x the CPU; the 24
files of one ``make demo`` (the endpoints, five service models, each twice: moto's
loader reads botocore's model again to add its extras) took 84 ms to parse. A plain
``dict`` keeps the file's order too, and botocore reads its models as mappings.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from typing import Any

import botocore.loaders
import botocore.session
import orjson

__all__ = ["share_botocore_loader"]

_lock = threading.Lock()
_loaders: dict[str | None, Any] = {}
_original = botocore.loaders.create_loader


class _OrjsonFileLoader(botocore.loaders.JSONFileLoader):  # type: ignore[misc]
    """botocore's file loader, parsing with orjson into plain dicts."""

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as file:
            payload = file.read()
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            # what orjson refuses and Python's json reads (NaN, integers beyond 64 bits)
            return super()._load_file(full_path, open_method)


def _parsing_with_orjson(loader: Any) -> Any:
    loader.file_loader = _OrjsonFileLoader()
    return loader


class _SearchPaths(list[str]):
    """A shared loader's search path: each boto3 session appends boto3's resource
    models' folder to its loader's; on a loader shared by every session of the process
    (moto's backends make sessions too) the folder was listed once per session, and
    each model looked up through all of them. It is kept once."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


class _ModelFolders:
    """Which services have a model of a type, from one pass over the data folders.

    botocore's ``list_available_services(type_name)`` lists every service folder
    (~440) and each of its API versions for that type, a ``stat`` per candidate file,
    once per type: ``make demo`` asks for three types (service models, endpoint rule
    sets, boto3's resources), ~5,000 system calls each, ~30 ms of CPU and 100-200 ms
    of wall time on this busy machine. Here each folder is scanned once
    (``os.scandir``, whose entries know whether they are folders and files), and the
    answer for each type is botocore's: the services with an API version folder holding
    ``<type>.json`` (or ``.json.gz``, the extensions botocore reads), sorted.
    """

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        self._files: dict[str, dict[str, list[set[str]]]] = {}  # path: service: files per version
        self._lock = threading.Lock()

    def list_available_services(self, type_name: str) -> list[str]:
        names = {type_name + extension for extension in botocore.loaders._JSON_OPEN_METHODS}
        services = set()
        for path in self._loader._potential_locations():
            for service, versions in self._scanned(path).items():
                if any(names & files for files in versions):
                    services.add(service)
        return sorted(services)

    def _scanned(self, path: str) -> dict[str, list[set[str]]]:
        with self._lock:
            found = self._files.get(path)
            if found is None:
                found = self._files[path] = _scan(path)
            return found


def _scan(path: str) -> dict[str, list[set[str]]]:
    services: dict[str, list[set[str]]] = {}
    with os.scandir(path) as entries:
        for service in entries:
            if not service.is_dir():
                continue
            versions = services[service.name] = []
            with os.scandir(service.path) as api_versions:
                for version in api_versions:
                    if version.is_dir():
                        with os.scandir(version.path) as files:
                            versions.append({file.name for file in files if file.is_file()})
    return services


def _shared_loader(search_path_string: str | None = None) -> Any:
    with _lock:
        loader = _loaders.get(search_path_string)
        if loader is None:
            loader = _original(search_path_string)
            loader._search_paths = _SearchPaths(loader.search_paths)
            loader.list_available_services = functools.cache(
                _ModelFolders(loader).list_available_services
            )
            _loaders[search_path_string] = _parsing_with_orjson(loader)
        return loader


def share_botocore_loader() -> None:
    """From now on, new botocore sessions of this process share one data loader."""
    # botocore.session imported the factory by name; its sessions call that name
    botocore.session.create_loader = _shared_loader
    try:
        moto_utils = importlib.import_module("moto.core.utils")
    except ImportError:  # pragma: no cover - moto is a dependency of the runtime
        return
    factory: Any = getattr(moto_utils, "create_loader")  # noqa: B009 - typed as Any
    if not isinstance(factory, functools._lru_cache_wrapper):
        # moto's loader (botocore's, plus moto's own models) keeps what it read too
        setattr(moto_utils, "create_loader", functools.cache(_listing_shared(factory)))  # noqa: B010


def _listing_shared(factory: Any) -> Any:
    def create_loader() -> Any:
        loader = _parsing_with_orjson(factory())
        # which services exist: botocore's, as the shared loader has listed them
        loader.list_available_services = _shared_loader().list_available_services
        return loader

    return create_loader
