// The workflows console's page script: draws a state machine as a graph (laid out by
// ELK), colours it with what an execution did, shows each state's input and output,
// the history events, and follows a running execution as it runs (server-sent events).
//
// Everything that comes from an execution (names, inputs, outputs, errors) is written
// with textContent or setAttribute, never as markup: a payload is always shown as text.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const START = "__start__";
  const END = "__end__";
  const STATUS_TEXT = {
    "succeeded": "✓ succeeded",
    "failed": "✗ failed",
    "caught": "⤳ caught",
    "retried": "↻ retried",
    "running": "… running",
    "cancelled": "■ cancelled",
    "not entered": "not entered",
  };
  // a state seen several times shows its most telling outcome (as trace.py merges them)
  const PRECEDENCE = { running: 0, failed: 1, cancelled: 2, caught: 3, retried: 4, succeeded: 5 };

  // ------------------------------------------------------------------ DOM helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "text") node.textContent = String(value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function pretty(text) {
    if (text === null || text === undefined) return "";
    if (typeof text !== "string") return JSON.stringify(text, null, 2);
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (_) {
      return text;
    }
  }

  function human(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 0.001) return (seconds * 1000).toFixed(2) + " ms";
    if (seconds < 1) return (seconds * 1000).toFixed(1) + " ms";
    if (seconds < 120) return seconds.toFixed(1) + " s";
    if (seconds < 7200) return Math.round(seconds / 60) + " min";
    return Math.round(seconds / 3600) + " h";
  }

  function utc(epoch) {
    if (epoch === null || epoch === undefined) return "";
    return new Date(epoch * 1000).toISOString().replace("T", " ").replace("Z", "");
  }

  function block(title, text, cls) {
    if (text === null || text === undefined) return null;
    return el("div", { class: "block " + (cls || "") },
      el("h4", { text: title }), el("pre", { class: "code", text: pretty(text) }));
  }

  // a named moment of the page (the first only), read by bench/console_page.py
  function mark(name) {
    if (window.performance && !performance.getEntriesByName(name).length) performance.mark(name);
  }

  // ------------------------------------------------------------------- the graph

  // ELK's input is built by elk-input.js (the console's server runs the same file)
  const elkGraph = window.workflowsElkInput;

  // A layout is kept in the browser (localStorage, every tab and report of this origin), so
  // the next page of the same definition draws without ELK; the key is the graph itself.
  const LAYOUT_VERSION = "3";
  const LAYOUT_PREFIX = "workflows-console-layout:";

  async function layoutOf(graph) {
    const text = JSON.stringify(graph);
    let hash = 0;
    for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
    const key = `${LAYOUT_PREFIX}${LAYOUT_VERSION}:${text.length}:${hash}`;
    try {
      const kept = localStorage.getItem(key);
      if (kept) return JSON.parse(kept);
    } catch (_) { /* no storage (a file opened with storage off): lay it out */ }
    const layout = await new (await elk())().layout(elkGraph(graph));
    keep(key, JSON.stringify(layout));
    return layout;
  }

  // ELK itself (1.6 MB of script) is read only when a page has to lay out its graph
  let loading = null;
  function elk() {
    if (window.ELK) return Promise.resolve(window.ELK);
    const holder = document.querySelector("[data-elk]");
    if (!holder) return Promise.reject(new Error("ELK is not there to lay out the graph"));
    loading = loading || new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = holder.getAttribute("data-elk");
      script.onload = () => resolve(window.ELK);
      script.onerror = () => reject(new Error("ELK could not be loaded"));
      document.head.append(script);
    });
    return loading;
  }

  function keep(key, text) {
    try {
      localStorage.setItem(key, text);
    } catch (_) {
      // full: forget the layouts kept so far (they are only a shortcut) and keep this one
      try {
        for (const old of Object.keys(localStorage)) {
          if (old.startsWith(LAYOUT_PREFIX)) localStorage.removeItem(old);
        }
        localStorage.setItem(key, text);
      } catch (_) { /* unavailable: the next open lays it out again */ }
    }
  }

  class GraphView {
    constructor(container, graph, onSelect, layout) {
      this.container = container;
      this.graph = graph;
      this.given = layout || null; // made by the console's server (layout.py), if it could
      this.onSelect = onSelect;
      this.nodes = new Map();
      this.edges = [];
      this.ready = this.draw();
    }

    async draw() {
      const layout = this.given || await layoutOf(this.graph);
      const width = Math.ceil(layout.width) + 8;
      const height = Math.ceil(layout.height) + 8;
      const root = svg("svg", {
        viewBox: `-4 -4 ${width} ${height}`, role: "img", "aria-label": "state machine graph",
        preserveAspectRatio: "xMidYMin meet",
      });
      // as wide as the panel allows, never wider than its natural size
      root.style.maxWidth = width + "px";
      const defs = svg("defs");
      for (const kind of ["plain", "taken"]) {
        defs.append(svg("marker", {
          id: "arrow-" + kind, viewBox: "0 0 10 10", refX: 9, refY: 5,
          markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
        }, svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow-" + kind })));
      }
      root.append(defs);
      const groupsLayer = svg("g", { class: "groups" });
      const edgesLayer = svg("g", { class: "edges" });
      const nodesLayer = svg("g", { class: "nodes" });
      root.append(groupsLayer, edgesLayer, nodesLayer);
      const nodeInfo = new Map(this.graph.nodes.map((n) => [n.id, n]));
      const groupInfo = new Map(this.graph.groups.map((g) => [g.id, g]));
      const self = this;
      (function walk(node) {
        for (const child of node.children || []) {
          const info = nodeInfo.get(child.id);
          if (child.children && child.children.length || (info && info.group)) {
            self.drawGroup(groupsLayer, child, info, groupInfo.get(child.id));
          } else if (info) {
            self.drawNode(nodesLayer, child, info);
          }
          walk(child);
        }
        for (const edge of node.edges || []) self.drawEdge(edgesLayer, edge);
      })(layout);
      this.container.replaceChildren(root);
    }

    drawGroup(layer, box, info, group) {
      const g = svg("g", { class: "group " + (info ? "state-group" : "branch") });
      g.append(svg("rect", { x: box.x, y: box.y, width: box.width, height: box.height, rx: 8 }));
      const title = info ? `${info.id} (${info.type})` : (group ? group.label : "");
      g.append(svg("text", { x: box.x + 10, y: box.y + 20, class: "group-label", text: title }));
      if (info) {
        g.setAttribute("data-state", info.id);
        g.setAttribute("tabindex", "0");
        const status = svg("text", {
          x: box.x + box.width - 10, y: box.y + 20, class: "status-label", "text-anchor": "end",
        });
        g.append(status);
        this.nodes.set(info.id, { g, status });
        g.addEventListener("click", (event) => {
          if (event.target.closest("[data-state]") === g) this.onSelect(info.id);
        });
        g.addEventListener("keydown", (event) => {
          if (event.key === "Enter") this.onSelect(info.id);
        });
      }
      layer.append(g);
    }

    drawNode(layer, box, info) {
      const pseudo = info.type === "Start" || info.type === "End";
      const g = svg("g", {
        class: "node" + (pseudo ? " pseudo" : ""), "data-state": pseudo ? null : info.id,
        tabindex: pseudo ? null : 0,
      });
      g.append(svg("rect", {
        x: box.x, y: box.y, width: box.width, height: box.height, rx: pseudo ? 15 : 6,
      }));
      const cx = box.x + box.width / 2;
      if (pseudo) {
        g.append(svg("text", { x: cx, y: box.y + 19, "text-anchor": "middle", text: info.type }));
      } else {
        g.append(svg("text", { x: cx, y: box.y + 19, "text-anchor": "middle", class: "name", text: info.id }));
        const status = svg("text", { x: cx, y: box.y + 37, "text-anchor": "middle", class: "status-label" });
        g.append(status);
        g.append(svg("title", { text: `${info.id} (${info.type})` + (info.comment ? "\n" + info.comment : "") }));
        this.nodes.set(info.id, { g, status });
        g.addEventListener("click", () => this.onSelect(info.id));
        g.addEventListener("keydown", (event) => {
          if (event.key === "Enter") this.onSelect(info.id);
        });
      }
      layer.append(g);
    }

    drawEdge(layer, edge) {
      const index = Number(edge.id.slice(1));
      const info = this.graph.edges[index];
      const g = svg("g", {
        class: "edge kind-" + info.kind, "data-source": info.source, "data-target": info.target,
      });
      for (const section of edge.sections || []) {
        const points = [section.startPoint, ...(section.bendPoints || []), section.endPoint];
        const d = points.map((p, i) => (i ? "L" : "M") + p.x + " " + p.y).join(" ");
        g.append(svg("path", { d, "marker-end": "url(#arrow-plain)" }));
      }
      for (const label of edge.labels || []) {
        g.append(svg("text", { x: label.x, y: label.y + 11, class: "edge-label", text: label.text }));
      }
      const how = { next: "Next", choice: "Choice rule", default: "Default", catch: "Catch", retry: "Retry", start: "StartAt", end: "End" };
      g.append(svg("title", { text: `${how[info.kind] || info.kind}: ${info.source} → ${info.target}` + (info.label ? `\n${info.label}` : "") }));
      this.edges.push({ g, info });
      layer.append(g);
    }

    paint(statuses, taken, selected) {
      for (const [name, node] of this.nodes) {
        const status = statuses[name] || "not entered";
        node.g.setAttribute("data-status", status);
        node.g.classList.toggle("selected", name === selected);
        node.status.textContent = STATUS_TEXT[status] || status;
      }
      for (const edge of this.edges) {
        const key = edge.info.source + "\u0000" + edge.info.target;
        const how = taken.get(key);
        const on = how !== undefined && (edge.info.kind === "retry"
          ? how.has("retry") : how.has(edge.info.kind === "catch" ? "catch" : "next"));
        edge.g.classList.toggle("taken", on);
        for (const path of edge.g.querySelectorAll("path")) {
          path.setAttribute("marker-end", on ? "url(#arrow-taken)" : "url(#arrow-plain)");
        }
      }
    }
  }

  // ---------------------------------------------------------- what the run did

  function inSelection(visit, selection) {
    return visit.iteration.every(([map, index]) =>
      selection[map] === undefined || selection[map] === index);
  }

  function statusesOf(visits, selection) {
    const merged = {};
    for (const visit of visits) {
      if (!inSelection(visit, selection)) continue;
      const old = merged[visit.name];
      if (old === undefined || (PRECEDENCE[visit.status] ?? 9) < (PRECEDENCE[old] ?? 9)) {
        merged[visit.name] = visit.status;
      }
    }
    return merged;
  }

  function takenOf(trace, visits, selection) {
    const taken = new Map();
    const mark = (source, target, how) => {
      const key = source + "\u0000" + target;
      if (!taken.has(key)) taken.set(key, new Set());
      taken.get(key).add(how);
    };
    const top = [];
    for (const visit of visits) {
      if (!inSelection(visit, selection)) continue;
      if (visit.next) mark(visit.name, visit.next, visit.status === "caught" ? "catch" : "next");
      // a page's visits carry how many attempts there were (views.page_view), not them
      const attempts = typeof visit.attempts === "number" ? visit.attempts : visit.attempts.length;
      if (attempts > 1) mark(visit.name, visit.name, "retry");
      if (!visit.container) top.push(visit);
    }
    if (top.length) {
      mark(START, top[0].name, "next");
      const last = top[top.length - 1];
      if (trace.status === "SUCCEEDED" || last.type === "Fail") mark(last.name, END, "next");
    }
    return taken;
  }

  // ------------------------------------------------------------- the page parts

  // The page carries no payloads (see views.py): a state's visits with their input and
  // output, and an event's details, are read when opened, from the console's JSON API
  // or, in a report, from the file's own details (parsed the first time one is needed).
  function detailsSource(root, data, live) {
    if (live) {
      const base = `/api/executions/${encodeURIComponent(data.execution.executionArn)}`;
      const get = async (url) => {
        const answer = await fetch(url, { headers: { Accept: "application/json" } });
        if (!answer.ok) throw new Error(`${answer.status} ${await answer.text()}`);
        return answer.json();
      };
      return {
        visits: async (name) => (await get(`${base}/states/${encodeURIComponent(name)}`)).visits,
        event: async (id) => (await get(`${base}/events/${id}`)).details,
      };
    }
    let read = null;
    const details = () => {
      read = read || unpack(root.querySelector("script.console-details"), data);
      return read;
    };
    return {
      visits: async (name) => (await details()).visits.filter((v) => v.name === name),
      event: async (id) => (await details()).events[String(id)] || null,
    };
  }

  // a report's details: JSON, gzipped and in base64 (report.py), a tenth of the size
  async function unpack(holder, data) {
    if (!holder) return { visits: data.trace.visits, events: {} };
    const text = holder.textContent.trim();
    if (holder.getAttribute("data-encoding") !== "gzip+base64") return JSON.parse(text);
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }

  const EVENTS_PAGE = 200;
  const VISITS_SHOWN = 50;

  class ExecutionView {
    constructor(root, data, live) {
      this.root = root;
      this.data = data;
      this.live = live;
      this.details = detailsSource(root, data, live);
      this.visitsOf = new Map(); // state name -> its visits with their payloads, once read
      this.panelAsked = 0;
      this.eventPage = 0;
      this.selected = null;
      this.selection = {}; // map state -> iteration index shown
      this.typeFilter = "";
      this.graph = new GraphView(this.find("#graph"), data.graph, (name) => this.select(name), data.layout);
      this.graph.ready.then(() => {
        this.paint();
        mark("console:graph");
      }).catch((error) => {
        this.find("#graph").replaceChildren(el("p", { class: "error", text: "The graph could not be drawn: " + error }));
      });
      this.find("#event-type").addEventListener("change", (event) => {
        this.typeFilter = event.target.value;
        this.eventPage = 0;
        this.renderEvents();
      });
      this.renderLegend();
      this.render();
      mark("console:events");
      if (live && data.execution.status === "RUNNING") this.follow();
    }

    find(selector) {
      return this.root.querySelector(selector);
    }

    render() {
      const execution = this.data.execution;
      const status = this.find("#execution-status");
      status.textContent = execution.status;
      status.className = "status " + execution.status.toLowerCase();
      this.find("#execution-input").textContent = pretty(execution.input);
      this.find("#execution-output").textContent = execution.output ? pretty(execution.output) : "";
      this.renderWaiting();
      this.renderEvents();
      this.renderPanel();
      this.paint();
    }

    paint() {
      if (!this.graph.nodes.size) return;
      const visits = this.data.trace.visits;
      this.graph.paint(statusesOf(visits, this.selection),
        takenOf(this.data.trace, visits, this.selection), this.selected);
    }

    renderLegend() {
      const legend = this.find("#legend");
      if (!legend) return;
      legend.replaceChildren(...Object.entries(STATUS_TEXT).map(([status, text]) =>
        el("span", { class: "swatch", "data-status": status, text })));
    }

    select(name) {
      this.selected = name;
      this.renderPanel();
      this.paint();
    }

    // ------------------------------------------------------------ state panel

    renderPanel() {
      const panel = this.find("#state-panel");
      if (!this.selected) return;
      const name = this.selected;
      const node = this.data.graph.nodes.find((n) => n.id === name);
      const parts = [el("h2", { text: name }),
        el("p", { class: "muted", text: (node ? node.type : "") + (node && node.resource ? " · " + node.resource : "") })];
      parts.push(this.iterationPicker(name));
      const entered = this.data.trace.visits.some((v) => v.name === name);
      let read = this.visitsOf.get(name);
      if (entered && read === undefined) {
        // its visits with their payloads are read once, then drawn from here
        const asked = ++this.panelAsked;
        panel.setAttribute("aria-busy", "true");
        const stale = this.staleVisits && this.staleVisits.get(name);
        if (!stale) {
          panel.replaceChildren(...parts.filter(Boolean), el("p", { class: "muted loading", text: "Reading its visits…" }));
        }
        this.details.visits(name).then((visits) => {
          this.visitsOf.set(name, visits);
          if (asked === this.panelAsked) this.renderPanel();
        }).catch((error) => {
          if (asked !== this.panelAsked) return;
          panel.removeAttribute("aria-busy");
          panel.append(el("p", { class: "error", text: "Its visits could not be read: " + error }));
        });
        if (!stale) return;
        read = stale;
      }
      const visits = (read || []).filter((v) => inSelection(v, this.selection));
      if (!visits.length) parts.push(el("p", { class: "not-entered", text: "Not entered in this execution" + (Object.keys(this.selection).length ? " (in the iterations picked)." : ".") }));
      visits.slice(0, VISITS_SHOWN).forEach((visit, i) => parts.push(this.visitBlock(visit, i, visits.length)));
      if (visits.length > VISITS_SHOWN) {
        parts.push(el("p", { class: "muted more-visits", text: `The first ${VISITS_SHOWN} of ${visits.length} visits are shown: pick an iteration to see another.` }));
      }
      if (this.visitsOf.has(name) || !entered) panel.removeAttribute("aria-busy");
      panel.replaceChildren(...parts.filter(Boolean));
    }

    iterationPicker(name) {
      // the Map states around this state (and the state itself, if it is a Map)
      const maps = [];
      const groups = new Map(this.data.graph.groups.map((g) => [g.id, g]));
      const nodes = new Map(this.data.graph.nodes.map((n) => [n.id, n]));
      let current = nodes.get(name);
      if (current && current.type === "Map") maps.push(current.id);
      while (current && current.parent) {
        const group = groups.get(current.parent);
        if (!group) break;
        if (group.kind === "map") maps.unshift(group.state);
        current = nodes.get(group.state);
      }
      if (!maps.length) return null;
      const box = el("div", { class: "iterations" });
      for (const map of [...new Set(maps)]) {
        const iterations = this.data.trace.iterations.filter((it) => it.map === map);
        if (!iterations.length) continue;
        const select = el("select", { "data-map": map, "aria-label": "iteration of " + map },
          el("option", { value: "", text: "all iterations" }),
          ...iterations.map((it) => el("option", {
            value: String(it.index), selected: this.selection[map] === it.index,
            text: `#${it.index} · ${it.status}`,
          })));
        select.addEventListener("change", () => this.pick(map, select.value === "" ? undefined : Number(select.value)));
        const failed = iterations.find((it) => it.status === "failed");
        box.append(el("label", {}, `${map} iteration `, select));
        if (failed) {
          box.append(el("button", {
            type: "button", class: "first-failed",
            onclick: () => this.pick(map, failed.index),
            text: `Failed iteration #${failed.index}`,
          }));
        }
        const counts = {};
        for (const it of iterations) counts[it.status] = (counts[it.status] || 0) + 1;
        box.append(el("p", { class: "muted", text: Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ") }));
      }
      return box;
    }

    pick(map, index) {
      if (index === undefined) delete this.selection[map];
      else this.selection[map] = index;
      this.renderPanel();
      this.paint();
    }

    visitBlock(visit, i, count) {
      const section = el("section", { class: "visit", "data-status": visit.status });
      // parts that do not apply (no result, no variables) are left out, not shown as "null"
      const box = { append: (...parts) => section.append(...parts.filter(Boolean)) };
      const where = visit.iteration.map(([map, index]) => `${map} #${index}`).join(" › ");
      box.append(el("h3", {},
        count > 1 ? `Visit ${i + 1} of ${count} · ` : "",
        el("span", { class: "status-text", text: STATUS_TEXT[visit.status] || visit.status }),
        where ? ` · ${where}` : ""));
      box.append(el("p", { class: "muted", text:
        `entered at +${human(visit.enteredAt)}` + (visit.duration !== null ? ` · took ${human(visit.duration)}` : "") }));
      if (visit.error || visit.cause) {
        box.append(el("div", { class: "failure" },
          el("h4", {}, "Error ", el("code", { text: visit.error || "" })),
          visit.cause ? el("pre", { class: "code", text: pretty(visit.cause) }) : null));
      }
      for (const waiting of this.data.waiting || []) {
        if (this.live && waiting.state === visit.name && waiting.enteredId === visit.enteredId) {
          box.append(this.tokenForms(waiting));
        }
      }
      box.append(block("Input", visit.input));
      const last = visit.attempts[visit.attempts.length - 1];
      if (last && last.parameters !== null) {
        box.append(block("Parameters sent (after InputPath and Parameters/Arguments)", last.parameters));
      }
      if (last && last.result !== null) {
        box.append(block("Result (before ResultSelector and ResultPath)", last.result));
        if (this.live) box.append(childLinks(last.result));
      }
      box.append(block("Output (after ResultSelector, ResultPath and OutputPath)", visit.output));
      if (visit.assignedVariables) box.append(block("Variables assigned", JSON.stringify(visit.assignedVariables)));
      if (visit.attempts.length) box.append(this.attemptsTable(visit.attempts));
      return section;
    }

    attemptsTable(attempts) {
      return el("table", { class: "list attempts" },
        el("thead", {}, el("tr", {}, ...["Attempt", "Waited before", "Took", "Outcome", "Error"].map((h) => el("th", { text: h })))),
        el("tbody", {}, ...attempts.map((a) => el("tr", {},
          el("td", { text: String(a.number) }),
          el("td", { text: a.delay === null ? "" : human(a.delay) }),
          el("td", { text: human(a.duration) }),
          el("td", { text: a.outcome }),
          el("td", { text: a.error ? a.error + (a.cause ? ": " + a.cause.slice(0, 200) : "") : "" })))));
    }

    tokenForms(waiting) {
      const action = `/executions/${encodeURIComponent(this.data.execution.executionArn)}/task-token`;
      const success = el("form", { method: "post", action, class: "token success", "data-json-form": true },
        el("input", { type: "hidden", name: "token", value: waiting.token }),
        el("input", { type: "hidden", name: "outcome", value: "success" }),
        el("label", {}, "Output (JSON) ", el("textarea", { name: "output", rows: 3, "data-json": true, text: "{}" })),
        el("p", { class: "json-problem error", hidden: true }),
        el("button", { type: "submit", text: "Send task success" }));
      const failure = el("form", { method: "post", action, class: "token failure" },
        el("input", { type: "hidden", name: "token", value: waiting.token }),
        el("input", { type: "hidden", name: "outcome", value: "failure" }),
        el("label", {}, "Error ", el("input", { name: "error", value: "" })),
        el("label", {}, "Cause ", el("input", { name: "cause", value: "" })),
        el("button", { type: "submit", class: "danger", text: "Send task failure" }));
      checkJsonForms(success);
      return el("div", { class: "token-forms" },
        el("p", { text: `${waiting.state} waits for its task token (.waitForTaskToken).` }),
        success, failure);
    }

    renderWaiting() {
      const box = this.find("#waiting");
      if (!box) return;
      const waiting = this.live ? (this.data.waiting || []) : [];
      const action = `/executions/${encodeURIComponent(this.data.execution.executionArn)}/task-token`;
      box.replaceChildren(...waiting.map((w) => el("div", { class: "notice waiting-token" },
        "Waiting for a task token: ",
        el("button", { type: "button", class: "link", text: w.state, onclick: () => {
          for (const [map, index] of w.iteration) this.selection[map] = index;
          this.select(w.state);
          this.find("#state-panel").scrollIntoView({ block: "nearest" });
        } }),
        // the common answer in one click; the state's panel has the output and the failure
        el("form", { method: "post", action, class: "inline" },
          el("input", { type: "hidden", name: "token", value: w.token }),
          el("input", { type: "hidden", name: "outcome", value: "success" }),
          el("input", { type: "hidden", name: "output", value: "{}" }),
          el("button", { type: "submit", class: "quick-success", text: "Send task success {}" })),
        " or open the state for another output or SendTaskFailure.")));
    }

    // ----------------------------------------------------------------- events

    // one page of rows at a time: 10,000 rows in the DOM would make every redraw slow
    renderEvents() {
      const events = this.data.events;
      const start = events.length ? events[0].timestamp : 0;
      const select = this.find("#event-type");
      const counts = new Map();
      for (const event of events) counts.set(event.type, (counts.get(event.type) || 0) + 1);
      const chosen = this.typeFilter;
      select.replaceChildren(el("option", { value: "", text: `all (${events.length})` }),
        ...[...counts.keys()].sort().map((t) => el("option", { value: t, selected: t === chosen, text: `${t} (${counts.get(t)})` })));
      const shown = chosen ? events.filter((e) => e.type === chosen) : events;
      const pages = Math.max(1, Math.ceil(shown.length / EVENTS_PAGE));
      this.eventPage = Math.min(this.eventPage, pages - 1);
      const first = this.eventPage * EVENTS_PAGE;
      const rows = shown.slice(first, first + EVENTS_PAGE).map((event) => el("tr", { "data-type": event.type },
        el("td", { class: "num", text: String(event.id) }),
        el("td", { text: event.type }),
        el("td", { text: event.step }),
        el("td", { class: "num", text: "+" + human(event.timestamp - start) }),
        el("td", {}, event.details ? lazyDetails(() => this.details.event(event.id)) : "")));
      this.find("#events tbody").replaceChildren(...rows);
      const pager = this.find("#event-pager");
      if (!pager) return;
      const go = (page) => () => {
        this.eventPage = page;
        this.renderEvents();
      };
      const button = (text, page, label) => el("button", {
        type: "button", class: "link", text, "aria-label": label,
        disabled: page === this.eventPage || page < 0 || page >= pages, onclick: go(page),
      });
      pager.replaceChildren(
        el("span", { class: "muted", text: shown.length
          ? `events ${first + 1} to ${first + rows.length} of ${shown.length}` : "no events" }),
        ...(pages > 1 ? [" ", button("« first", 0, "first events"), " ", button("‹ earlier", this.eventPage - 1, "earlier events"),
          " ", button("later ›", this.eventPage + 1, "later events"), " ", button("last »", pages - 1, "last events")] : []));
    }

    // ------------------------------------------------------------------- live

    follow() {
      const arn = this.data.execution.executionArn;
      const last = () => (this.data.events.length ? this.data.events[this.data.events.length - 1].id : 0);
      const source = new EventSource(`/api/executions/${encodeURIComponent(arn)}/stream?after=${last()}`);
      source.addEventListener("update", (message) => {
        const update = JSON.parse(message.data);
        const known = last();
        this.data.events.push(...update.events.filter((e) => e.id > known));
        this.data.trace = update.trace;
        // the open state's visits are read again; the panel shows the last ones meanwhile
        this.staleVisits = this.visitsOf;
        this.visitsOf = new Map();
        this.data.execution = update.execution;
        this.data.waiting = update.waiting;
        this.render();
        this.renderEnd();
      });
      source.addEventListener("end", () => {
        source.close();
        this.renderEnd();
      });
    }

    renderEnd() {
      const execution = this.data.execution;
      if (execution.status === "RUNNING") return;
      const stop = document.querySelector("form.stop");
      if (stop) stop.remove();
      this.find("#execution-stop").textContent = utc(execution.stopDate);
      this.find("#execution-duration").textContent = human(execution.stopDate - execution.startDate);
      this.renderRedrive(execution);
      if (execution.error || execution.cause) {
        this.find("#execution-error").replaceChildren(el("section", { class: "failure", role: "alert" },
          el("h2", {}, "Error: ", el("code", { text: execution.error || "" })),
          execution.cause ? el("pre", { class: "code", text: execution.cause }) : null));
      }
    }

    // an execution that has just ended: its Redrive button, or why it has none
    renderRedrive(execution) {
      const box = document.querySelector("#redrive");
      if (!box) return;
      if (execution.redriveStatus === "REDRIVABLE") {
        if (box.querySelector("form.redrive")) return;
        box.replaceChildren(el("form", {
          method: "post", class: "redrive",
          action: `/executions/${encodeURIComponent(execution.executionArn)}/redrive`,
        }, el("button", { type: "submit", text: "Redrive" }), " ",
        el("span", { class: "muted", text: "runs it again from the states that did not finish (RedriveExecution)" })));
      } else if (execution.redriveStatusReason && execution.status !== "SUCCEEDED") {
        box.replaceChildren(el("p", {
          class: "muted", id: "redrive-reason", text: `Not redrivable: ${execution.redriveStatusReason}`,
        }));
      } else {
        box.replaceChildren();
      }
    }
  }

  // a states:startExecution result names the execution it started: link to it
  function childLinks(result) {
    const arns = [...new Set(String(result).match(/arn:aws:states:[^:"]+:\d+:execution:[^"\\\s]+/g) || [])];
    if (!arns.length) return null;
    return el("p", {}, "Started: ", ...arns.map((arn) => el("a", {
      href: `/executions/${encodeURIComponent(arn)}`, class: "child", text: arn.split(":").pop(),
    })));
  }

  // an event's details, read and written out only when opened
  function lazyDetails(read) {
    const box = el("details", {}, el("summary", { text: "details" }));
    box.addEventListener("toggle", async () => {
      if (!box.open || box.querySelector("pre, .error")) return;
      let body;
      try {
        body = await read();
      } catch (error) {
        box.append(el("p", { class: "error", text: "The details could not be read: " + error }));
        return;
      }
      if (box.querySelector("pre")) return;
      box.append(el("pre", { class: "code", text: JSON.stringify(body, (k, v) => {
        if ((k === "input" || k === "output" || k === "parameters") && typeof v === "string") {
          try { return JSON.parse(v); } catch (_) { return v; }
        }
        return v;
      }, 2) }));
    });
    return box;
  }

  // ------------------------------------------------------------- JSON checking

  function checkJsonForms(scope) {
    const forms = scope.matches && scope.matches("form[data-json-form]")
      ? [scope] : scope.querySelectorAll("form[data-json-form]");
    for (const form of forms) {
      const problem = form.querySelector(".json-problem");
      const check = () => {
        for (const area of form.querySelectorAll("textarea[data-json]")) {
          const text = area.value.trim() || "{}";
          try {
            JSON.parse(text);
          } catch (error) {
            problem.textContent = "Not valid JSON: " + error.message;
            problem.hidden = false;
            area.setAttribute("aria-invalid", "true");
            return false;
          }
          area.removeAttribute("aria-invalid");
        }
        problem.hidden = true;
        problem.textContent = "";
        return true;
      };
      form.addEventListener("input", check);
      form.addEventListener("submit", (event) => {
        if (!check()) event.preventDefault();
      });
    }
  }

  // ----------------------------------------------------------- executions list

  function followList(table) {
    const source = new EventSource(table.getAttribute("data-live"));
    let pending = null;
    source.addEventListener("changed", () => {
      if (pending) return;
      pending = setTimeout(async () => {
        pending = null;
        const answer = await fetch(location.href, { headers: { Accept: "text/html" } });
        if (!answer.ok) return;
        const page = new DOMParser().parseFromString(await answer.text(), "text/html");
        const fresh = page.querySelector("#executions tbody");
        if (fresh) table.querySelector("tbody").replaceWith(fresh);
      }, 300);
    });
  }

  // ------------------------------------------------------------------- start

  function start() {
    checkJsonForms(document);
    const list = document.querySelector("table#executions[data-live]");
    if (list) followList(list);
    const reports = document.querySelectorAll("article.report-execution");
    for (const article of reports) {
      const data = JSON.parse(article.querySelector("script.console-data").textContent);
      new ExecutionView(article, data, false);
    }
    const holder = document.getElementById("console-data");
    if (!holder) return;
    const data = JSON.parse(holder.textContent);
    if (data.graph) {
      window.consoleView = new ExecutionView(document, data, true);
    } else if (data.graphOnly) {
      const view = new GraphView(document.getElementById("graph"), data.graphOnly, () => {}, data.layout);
      view.ready.then(() => view.paint({}, new Map(), null));
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
