"""The console's web server: pages, the live streams and the actions, on aiohttp.

Every read and every action goes through the ``ExecutionService`` that the
Step Functions endpoint serves (and its store, for the queries the API has no
call for: every machine's executions at once, counts, a name search), so the
console shows exactly what boto3 and the AWS CLI see.

Pages are rendered on the server by Jinja2 with autoescaping on; what the page
script needs travels as JSON in ``<script type="application/json">`` (Jinja's
``tojson`` escapes ``<``, ``>`` and ``&`` there) and the script writes payloads
with ``textContent`` only, so a payload is always shown as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NoReturn
from urllib.parse import quote, urlencode

import jinja2
from aiohttp import web
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from workflows.console.graph import build_graph
from workflows.console.layout import Layouts, graph_key, layouts
from workflows.console.live import ANY, LiveHub
from workflows.console.resources import LocalResources
from workflows.console.views import (
    execution_view,
    normalise_events,
    origin,
    page_view,
    state_visits,
    waiting_tokens,
)
from workflows.local.app import ExecutionStarting
from workflows.local.executions import ExecutionService, ServiceError
from workflows.local.runtime import LocalRuntime, ServerStarter
from workflows.local.sfn_map_runs import describe_child, find_child, find_map_run, map_runs_of
from workflows.local.sfn_redrive import redrive_execution
from workflows.local.store import ExecutionRow
from workflows.timeline import human
from workflows.trace import trace

__all__ = ["CONSOLE_KEY", "Console", "create_console", "serve_console", "start_console"]

log = logging.getLogger("workflows.console")

HERE: Final = Path(__file__).parent
STATUSES: Final = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
PAGE_SIZE: Final = 50
HISTORY_PAGE: Final = 1000
KEPT_VIEWS: Final = 8
GRAPHS_KEPT: Final = 64  # machine definitions whose graph is kept (see Console.graphs)
# the stream re-reads the store at least this often, even without a notification
# (an execution resumed after a restart may not pass through the app's listeners)
POLL_SECONDS: Final = 1.0
_SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every {{ value }} is HTML-escaped; payloads are never markup
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["when"] = _when
    environment.filters["took"] = _took
    environment.filters["arn"] = lambda arn: quote(str(arn), safe="")
    environment.globals["origin"] = origin
    return environment


@dataclass
class Console:
    service: ExecutionService
    hub: LiveHub
    templates: jinja2.Environment
    resources: LocalResources
    layouts: Layouts = layouts
    # layouts being made in a thread (kept here so that they are not collected)
    laying_out: set[asyncio.Future[Any]] = field(default_factory=set)
    # the views of the last ended executions opened: their states are opened one by one
    ended: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    pages: dict[str, Markup] = field(default_factory=dict)  # their page data, as JSON
    # the graph of each machine definition seen: every execution start looks its
    # machine's layout up, and the definition rarely changes
    graphs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # and what its layout is kept under (graph_key encodes and hashes the whole graph)
    graph_keys: dict[str, str] = field(default_factory=dict)

    def render(self, template: str, code: int = 200, **values: Any) -> web.Response:
        text = self.templates.get_template(template).render(**values)
        return web.Response(text=text, status=code, content_type="text/html")

    # ------------------------------------------------------------------ reading

    def machines(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.service.list_state_machines(max_results=1000, next_token=token)
            listed.extend(page["stateMachines"])
            token = page.get("nextToken")
            if token is None:
                break
        from_template = {spec.arn for spec in self.service.app.template.state_machines.values()}
        counts = self.service.store.count_executions()
        for machine in listed:
            arn = machine["stateMachineArn"]
            machine["origin"] = "template" if arn in from_template else "API"
            machine["counts"] = {s: counts.get((arn, s), 0) for s in STATUSES}
            machine["total"] = sum(machine["counts"].values())
        return listed

    def history(self, arn: str, after: int = 0, until: int | None = None) -> list[dict[str, Any]]:
        """Every event after ``after`` (up to ``until``), read page by page from
        GetExecutionHistory."""
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.service.get_execution_history(
                arn, max_results=HISTORY_PAGE, next_token=token
            )
            events.extend(e for e in page["events"] if int(e["id"]) > after)
            token = page.get("nextToken")
            if token is None or (until is not None and events and events[-1]["id"] >= until):
                return events

    def layout(self, graph: dict[str, Any]) -> dict[str, Any] | None:
        """The graph's layout if it is made; else it is made now, in a thread, for the next
        page (this one lays the graph out in the browser)."""
        found = self.layouts.kept(graph)
        if found is None:
            self.lay_out(graph)
        return found

    def lay_out(self, graph: dict[str, Any]) -> None:
        made = asyncio.ensure_future(asyncio.to_thread(self.layouts.layout, graph))
        self.laying_out.add(made)
        made.add_done_callback(self.laying_out.discard)

    def lay_out_machine(self, state_machine_arn: str) -> None:
        try:
            definition = self.service.describe_state_machine(state_machine_arn)["definition"]
        except ServiceError:
            return
        graph = self.graphs.get(definition)
        if graph is None:
            if len(self.graphs) >= GRAPHS_KEPT:
                self.graphs.clear()
                self.graph_keys.clear()
            graph = self.graphs[definition] = build_graph(definition).to_dict()
            self.graph_keys[definition] = graph_key(graph)
        if self.layouts.kept(graph, self.graph_keys[definition]) is None:
            self.lay_out(graph)

    def _on_execution(self, starting: ExecutionStarting) -> None:
        """An execution starts: its graph is laid out by the time someone opens it. One
        that runs again (a redrive) is no longer ended: its kept view goes."""
        self.forget(starting.execution_arn)
        self.lay_out_machine(starting.state_machine_arn)

    def forget(self, arn: str) -> None:
        self.ended.pop(arn, None)
        self.pages.pop(arn, None)

    def page_data(self, arn: str, view: dict[str, Any]) -> Markup:
        """The execution page's data as JSON for a <script> element (``<``, ``>``, ``&``
        escaped); an ended execution's, once laid out, is kept with its view."""
        kept = self.pages.get(arn)
        if kept is not None and arn in self.ended:
            return kept
        layout = self.layout(view["graph"])
        text = htmlsafe_json_dumps({**page_view(view), "layout": layout})
        if layout is not None and arn in self.ended:
            self.pages[arn] = text
        return text

    def view(self, arn: str) -> dict[str, Any]:
        """``execution_view`` of ``arn``; an ended execution's is kept (it cannot change)."""
        kept = self.ended.get(arn)
        if kept is not None:
            self.ended.move_to_end(arn)
            return kept
        view = self._view(arn)
        if view["execution"]["status"] != "RUNNING":
            self.ended[arn] = view
            while len(self.ended) > KEPT_VIEWS:
                gone, _ = self.ended.popitem(last=False)
                self.pages.pop(gone, None)
        return view

    def _view(self, arn: str) -> dict[str, Any]:
        child = find_child(self.service, arn)
        if child is not None:  # a Distributed Map's child: stored with its map run
            run = find_map_run(self.service, child.map_run_arn)
            definition = run.definition if run is not None else "{}"
            events = normalise_events(self.history(arn))
            return execution_view(definition, describe_child(child), events)
        execution = self.service.describe_execution(arn)
        try:
            definition = self.service.describe_state_machine_for_execution(arn)["definition"]
        except ServiceError:  # its state machine was deleted: the events still tell the story
            definition = "{}"
        events = normalise_events(self.history(arn))
        traced = trace(events)
        row = self.service.store.get_execution(arn)
        execution["startedBy"] = row.started_by if row is not None else None
        waiting = waiting_tokens(arn, traced, self.service.app.tokens)
        view = execution_view(definition, execution, events, waiting=waiting, traced=traced)
        view["mapRuns"] = self.map_runs(arn)
        return view

    def map_runs(self, arn: str) -> list[dict[str, Any]]:
        """The execution's Distributed Map runs, with their first children."""
        runs = []
        for run in map_runs_of(self.service, arn):
            children = self.service.store.children(run.arn, type="STANDARD", limit=MAP_RUN_CHILDREN)
            runs.append(
                {
                    "arn": run.arn,
                    "label": run.label,
                    "status": run.status,
                    "itemCounts": run.counts(run.items),
                    "children": [
                        {"arn": c.arn, "name": c.name, "status": c.status} for c in children
                    ],
                }
            )
        return runs


CONSOLE_KEY: Final = web.AppKey("console", Console)
# child executions listed per map run on an execution's page
MAP_RUN_CHILDREN: Final = 100
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_console(service: ExecutionService) -> web.Application:
    """The console's aiohttp application over ``service`` (on the app's event loop)."""
    app = web.Application(middlewares=[_guard])
    console = Console(service, LiveHub(service.app), templates(), LocalResources(service.app))
    app[CONSOLE_KEY] = console
    service.app.execution_listeners.append(console._on_execution)
    app.router.add_get("/", machines_page)
    app.router.add_get("/state-machines/{arn}", machine_page)
    app.router.add_post("/state-machines/{arn}/executions", start_execution)
    app.router.add_get("/executions", executions_page)
    app.router.add_get("/executions/{arn}", execution_page)
    app.router.add_post("/executions/{arn}/stop", stop_execution)
    app.router.add_post("/executions/{arn}/task-token", answer_task_token)
    app.router.add_post("/executions/{arn}/redrive", redrive)
    app.router.add_get("/api/executions/{arn}", execution_json)
    app.router.add_get("/api/executions/{arn}/stream", execution_stream)
    app.router.add_get("/api/executions/{arn}/states/{state}", state_json)
    app.router.add_get("/api/executions/{arn}/events/{event}", event_json)
    app.router.add_get("/api/stream", executions_stream)
    app.router.add_get("/resources", resources_page)
    app.router.add_static("/static", HERE / "static")

    async def startup(_: web.Application) -> None:
        for machine in console.machines():  # the template's, and those created before
            console.lay_out_machine(machine["stateMachineArn"])

    async def close(_: web.Application) -> None:
        for making in list(console.laying_out):  # its thread ends on its own
            making.cancel()
        if console._on_execution in service.app.execution_listeners:
            service.app.execution_listeners.remove(console._on_execution)
        console.hub.close()
        console.resources.close()

    app.on_startup.append(startup)
    app.on_shutdown.append(close)
    return app


async def start_console(
    service: ExecutionService, host: str, port: int
) -> tuple[web.AppRunner, str]:
    """Serve the console; returns its runner (``cleanup`` stops it) and its address."""
    runner = web.AppRunner(create_console(service), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = port
    server = getattr(site, "_server", None)
    sockets = getattr(server, "sockets", None) or []
    if sockets:
        bound = int(sockets[0].getsockname()[1])
    return runner, f"http://{host}:{bound}"


def serve_console(port: int) -> ServerStarter:
    """A server for ``LocalRuntime(servers=[...])``: the console on ``port`` (0: any free one)."""

    async def start(runtime: LocalRuntime) -> tuple[web.AppRunner, str, str]:
        assert runtime.service is not None  # started before its servers
        runner, url = await start_console(runtime.service, runtime.ports.host, port)
        return runner, "Console", url

    return start


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse actions posted from other sites; send every page with a strict CSP."""
    if request.method == "POST" and not _same_origin(request):
        raise web.HTTPForbidden(text="the console only accepts actions from its own pages")
    response = await handler(request)
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _same_origin(request: web.Request) -> bool:
    """Browsers say where a request comes from (Sec-Fetch-Site, else Origin); other clients
    (curl, tests) send neither and are let through: the console is bound to 127.0.0.1."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


# ----------------------------------------------------------------------- pages


async def machines_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    return console.render("machines.html", page="machines", machines=console.machines())


async def machine_page(request: web.Request, *, error: str | None = None) -> web.Response:
    console = request.app[CONSOLE_KEY]
    arn = request.match_info["arn"]
    try:
        machine = console.service.describe_state_machine(arn)
    except ServiceError as problem:
        raise web.HTTPNotFound(text=problem.message) from None
    recent = console.service.store.search_executions(state_machine_arn=arn, limit=10)
    graph = build_graph(machine["definition"]).to_dict()
    last_input = recent[0].input if recent else "{}"
    form = await request.post() if request.method == "POST" else {}
    return console.render(
        "machine.html",
        code=400 if error else 200,
        page="machines",
        machine=machine,
        asl=_pretty(machine["definition"]),
        recent=[_row(r) for r in recent],
        input=str(form.get("input", _pretty(last_input or "{}"))),
        name=str(form.get("name", "")),
        error=error,
        data={"graphOnly": graph, "layout": console.layout(graph)},
    )


async def executions_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    query = request.rel_url.query
    machine = query.get("machine") or None
    status = query.get("status") or None
    search = (query.get("q") or "").strip() or None
    before = _int(query.get("before"))
    if status is not None and status not in STATUSES:
        raise web.HTTPBadRequest(text=f"status must be one of {', '.join(STATUSES)}: {status!r}")
    rows = console.service.store.search_executions(
        state_machine_arn=machine,
        status=status,
        name_contains=search,
        before_seq=before,
        limit=PAGE_SIZE + 1,
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    filters = {k: v for k, v in (("machine", machine), ("status", status), ("q", search)) if v}
    next_url = None
    if more:
        next_url = "/executions?" + urlencode({**filters, "before": rows[-1].seq})
    machines = [m["stateMachineArn"] for m in console.machines()]
    return console.render(
        "executions.html",
        page="executions",
        rows=[_row(r) for r in rows],
        machines=machines,
        statuses=STATUSES,
        machine=machine or "",
        status=status or "",
        q=search or "",
        next_url=next_url,
        first_url="/executions?" + urlencode(filters) if before is not None else None,
        partial=query.get("partial") == "1",
    )


async def execution_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    arn = request.match_info["arn"]
    try:
        view = console.view(arn)
    except ServiceError as problem:
        raise web.HTTPNotFound(text=problem.message) from None
    execution = view["execution"]
    return console.render(
        "execution.html",
        page="executions",
        execution=execution,
        machine_name=execution["stateMachineArn"].rsplit(":", 1)[-1],
        duration=_duration(execution.get("startDate"), execution.get("stopDate")),
        notice=request.rel_url.query.get("notice"),
        error=request.rel_url.query.get("error"),
        data=view,
        data_json=console.page_data(arn, view),
    )


async def resources_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    snapshot = await console.resources.snapshot()
    return console.render("resources.html", page="resources", resources=snapshot)


# --------------------------------------------------------------------- actions


async def start_execution(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    arn = request.match_info["arn"]
    form = await request.post()
    text = str(form.get("input", "")).strip() or "{}"
    name = str(form.get("name", "")).strip() or None
    try:
        json.loads(text)
    except ValueError as problem:
        return await machine_page(request, error=f"The input is not valid JSON: {problem}")
    try:
        started = await console.service.start_execution(arn, text, name, started_by="the console")
    except ServiceError as problem:
        return await machine_page(request, error=f"{problem.code}: {problem.message}")
    raise web.HTTPSeeOther(f"/executions/{quote(started['executionArn'], safe='')}")


async def stop_execution(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    arn = request.match_info["arn"]
    form = await request.post()
    error = str(form.get("error", "")).strip() or None
    cause = str(form.get("cause", "")).strip() or None
    try:
        await console.service.stop_execution(arn, error=error, cause=cause)
    except ServiceError as problem:
        _back(arn, error=f"{problem.code}: {problem.message}")
    _back(arn, notice="Execution stopped")


async def answer_task_token(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    arn = request.match_info["arn"]
    form = await request.post()
    token = str(form.get("token", ""))
    outcome = str(form.get("outcome", "success"))
    try:
        if outcome == "success":
            output = str(form.get("output", "")).strip() or "{}"
            await console.service.send_task_success(token, output)
            notice = "SendTaskSuccess sent"
        elif outcome == "failure":
            await console.service.send_task_failure(
                token,
                error=str(form.get("error", "")).strip() or None,
                cause=str(form.get("cause", "")).strip() or None,
            )
            notice = "SendTaskFailure sent"
        else:
            raise web.HTTPBadRequest(text=f"outcome must be success or failure, not {outcome!r}")
    except ServiceError as problem:
        _back(arn, error=f"{problem.code}: {problem.message}")
    # let the execution take the answer before the page is drawn again
    await asyncio.sleep(0)
    _back(arn, notice=notice)


async def redrive(request: web.Request) -> web.Response:
    """RedriveExecution, as the endpoint does it: the execution runs again under its ARN."""
    console = request.app[CONSOLE_KEY]
    arn = request.match_info["arn"]
    try:
        await redrive_execution(console.service, arn)
    except ServiceError as problem:
        _back(arn, error=f"{problem.code}: {problem.message}")
    console.forget(arn)  # the page is drawn again from the store: RUNNING
    await asyncio.sleep(0)
    _back(arn, notice="Execution redriven")


def _back(arn: str, **message: str) -> NoReturn:
    raise web.HTTPSeeOther(f"/executions/{quote(arn, safe='')}?{urlencode(message)}")


# ------------------------------------------------------------------ JSON, live


def _view_or_404(request: web.Request) -> dict[str, Any]:
    try:
        return request.app[CONSOLE_KEY].view(request.match_info["arn"])
    except ServiceError as problem:
        raise web.HTTPNotFound(text=problem.message) from None


async def execution_json(request: web.Request) -> web.Response:
    return web.json_response(_view_or_404(request))


async def state_json(request: web.Request) -> web.Response:
    """Every visit of one state with its payloads: what the page reads when it is opened."""
    view = _view_or_404(request)
    return web.json_response({"visits": state_visits(view, request.match_info["state"])})


async def event_json(request: web.Request) -> web.Response:
    """One history event, whole: what the page reads when its details are unfolded."""
    console = request.app[CONSOLE_KEY]
    arn = request.match_info["arn"]
    wanted = _int(request.match_info["event"]) or 0
    try:
        found = console.history(arn, after=wanted - 1, until=wanted)
    except ServiceError as problem:
        raise web.HTTPNotFound(text=problem.message) from None
    event = next((e for e in found if int(e["id"]) == wanted), None)
    if event is None:
        raise web.HTTPNotFound(text=f"no event {wanted} in {arn}")
    details = next((v for k, v in event.items() if k.endswith("EventDetails")), None)
    return web.json_response({"event": normalise_events([event])[0], "details": details})


async def execution_stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the execution's new events and what each state did, as they happen."""
    console = request.app[CONSOLE_KEY]
    arn = request.match_info["arn"]
    after = _int(request.rel_url.query.get("after")) or 0
    try:
        console.service.describe_execution(arn)
    except ServiceError as problem:
        raise web.HTTPNotFound(text=problem.message) from None
    async with _Stream(request, console, arn) as stream:
        while True:
            view = console.view(arn)
            ended = view["execution"]["status"] != "RUNNING"
            fresh = [e for e in view["events"] if int(e["id"]) > after]
            # an execution that has ended gets a last update even with no new event: the
            # page (or the last update) may hold all of its events but a status read
            # before the end was stored, and "end" alone would leave it RUNNING
            if fresh or ended:
                lean = page_view(view)  # rows over every event: a row's state may be older
                lean["events"] = [r for r in lean["events"] if int(r["id"]) > after]
                if fresh:
                    after = int(fresh[-1]["id"])
                await stream.send("update", lean)
            if ended:
                await stream.send("end", {"status": view["execution"]["status"]})
                break
            if fresh:  # each update carries the whole trace: a big execution gets fewer
                await asyncio.sleep(min(1.0, len(view["events"]) / 10_000))
            await stream.changed()
    return stream.response


async def executions_stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``changed`` whenever any execution starts, moves or ends."""
    console = request.app[CONSOLE_KEY]
    async with _Stream(request, console, ANY) as stream:
        while True:
            await stream.changed()
            await stream.send("changed", {})
    return stream.response


class _Stream:
    """One server-sent events response, woken by the hub for ``key``."""

    def __init__(self, request: web.Request, console: Console, key: str) -> None:
        self.request = request
        self.hub = console.hub
        self.key = key
        self.response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        self.waiter = asyncio.Event()

    async def __aenter__(self) -> _Stream:
        for name, value in _SECURITY_HEADERS.items():
            self.response.headers[name] = value
        await self.response.prepare(self.request)
        self.waiter = self.hub.follow(self.key)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        self.hub.unfollow(self.key, self.waiter)
        if kind is None:
            with contextlib.suppress(ConnectionResetError):
                await self.response.write_eof()
        return kind is ConnectionResetError  # the page went away: nothing to report

    async def send(self, kind: str, data: Any) -> None:
        text = json.dumps(data, separators=(",", ":"), default=str)
        await self.response.write(f"event: {kind}\ndata: {text}\n\n".encode())

    async def changed(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.waiter.wait(), POLL_SECONDS)
        self.waiter.clear()
        # a burst of events (a Map of a thousand items) becomes one update
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------- helpers


def _row(row: ExecutionRow) -> dict[str, Any]:
    return {
        "arn": row.arn,
        "name": row.name,
        "machine": row.state_machine_arn.rsplit(":", 1)[-1],
        "machine_arn": row.state_machine_arn,
        "status": row.status,
        "start": row.start_date,
        "stop": row.stop_date,
        "duration": _duration(row.start_date, row.stop_date),
        "started_by": row.started_by,
    }


def _duration(start: float | None, stop: float | None) -> float | None:
    if start is None or stop is None:
        return None
    return max(0.0, stop - start)


def _when(value: float | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _took(value: float | None) -> str:
    return "" if value is None else human(float(value))


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise web.HTTPBadRequest(text=f"expected a whole number, got {value!r}") from None
