// The input ELK lays out for a state machine's graph (graph.py's nodes, edges and groups):
// compound nodes for Parallel (one per branch inside) and Map states, edges kept in the
// scope where both ends are. The page runs it in the browser and the console's server
// runs the same file in its embedded V8 (workflows/console/layout.py), so a layout made on
// either side is the same.
"use strict";

(function (host) {
  function textWidth(text, size) {
    return Math.ceil(String(text).length * size * 0.62) + 24;
  }

  // ELK's input: compound nodes for Parallel (one per branch inside) and Map states
  function elkGraph(graph) {
    const byParent = new Map();
    for (const node of graph.nodes) {
      const key = node.parent || "";
      if (!byParent.has(key)) byParent.set(key, []);
      byParent.get(key).push(node);
    }
    const groups = new Map(graph.groups.map((g) => [g.id, g]));
    const groupChildren = new Map();
    for (const g of graph.groups) {
      const key = g.parent || "";
      if (!groupChildren.has(key)) groupChildren.set(key, []);
      groupChildren.get(key).push(g);
    }
    // every graph (the top level and each box) is laid out on its own, top to bottom: a
    // transition never leaves the States object it is in (graph.py), so no edge crosses a
    // box, and a box's size is known before its parent is laid out
    const layered = {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      // fewer crossing-minimisation sweeps: a 200-state machine lays out in a fraction
      // of the time, and graphs of this shape (mostly one path down) look the same
      "elk.layered.thoroughness": "1",
      "elk.layered.spacing.nodeNodeBetweenLayers": "36",
      "elk.spacing.nodeNode": "28",
      "elk.spacing.edgeLabel": "4",
      "elk.edgeLabels.inline": "false",
    };
    const box = (width) => ({
      ...layered,
      "elk.padding": "[top=34,left=14,bottom=14,right=14]",
      "elk.contentAlignment": "[H_CENTER, V_TOP]",
      // wide enough for its title and, for a state, its status on the same line
      "elk.nodeSize.constraints": "[MINIMUM_SIZE]",
      "elk.nodeSize.minimum": `(${width}, 60)`,
    });
    function children(scope) {
      return (byParent.get(scope) || []).map((node) => elkNode(node));
    }
    function elkNode(node) {
      if (node.type === "Start" || node.type === "End") {
        return { id: node.id, width: 64, height: 30 };
      }
      if (node.group) {
        const group = groups.get(node.group);
        const inner = group.kind === "parallel"
          ? (groupChildren.get(group.id) || []).map((branch) => ({
            id: branch.id,
            layoutOptions: box(textWidth(branch.label, 13)),
            children: children(branch.id),
            edges: [],
          }))
          : children(group.id);
        const title = textWidth(`${node.id} (${node.type})`, 13) + textWidth("✓ succeeded", 11);
        return { id: node.id, layoutOptions: box(title), children: inner, edges: [] };
      }
      return { id: node.id, width: Math.max(120, textWidth(node.id, 13)), height: 48 };
    }
    const root = {
      id: "root",
      layoutOptions: {
        ...layered,
        "elk.hierarchyHandling": "SEPARATE_CHILDREN",
        "elk.json.edgeCoords": "ROOT",
        "elk.json.shapeCoords": "ROOT",
      },
      children: children(""),
      edges: [],
    };
    const containers = new Map();
    (function index(node) {
      containers.set(node.id, node);
      for (const child of node.children || []) index(child);
    })(root);
    const stateOfGroup = (scope) => (scope ? groups.get(scope) : null);
    graph.edges.forEach((edge, i) => {
      let holder = root;
      const group = stateOfGroup(edge.scope);
      if (group) holder = containers.get(group.kind === "map" ? group.state : group.id) || root;
      // short labels keep the layout narrow; the full text is the edge's tooltip
      const label = edge.kind === "retry" ? "retry" : edge.label;
      const elkEdge = { id: "e" + i, sources: [edge.source], targets: [edge.target] };
      if (label && edge.kind !== "next") {
        const short = label.length > 22 ? label.slice(0, 21) + "…" : label;
        elkEdge.labels = [{ text: short, width: textWidth(short, 11) - 16, height: 14 }];
      }
      holder.edges.push(elkEdge);
    });
    return root;
  }

  host.workflowsElkInput = elkGraph;
})(typeof window !== "undefined" ? window : globalThis);
