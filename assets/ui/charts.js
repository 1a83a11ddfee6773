// An answer's chart: a single number in its unit, or the Vega-Lite spec the server put in
// `chart_config.vega_lite`, drawn by vega-embed (embedded in the binary under /assets/vendor/,
// loaded on the first chart so a page without charts never pays for it). The page's security
// policy forbids eval, so Vega runs its expressions through vega-interpreter and draws SVG.

import { el, formatValue, icon, download } from "./dom.js";

let vegaLoading = null;

/// vega, vega-lite and vega-embed (classic scripts: globals), then the interpreter (a module).
function loadVega() {
  vegaLoading ||= (async () => {
    for (const file of ["vega.min.js", "vega-lite.min.js", "vega-embed.min.js"]) {
      await new Promise((loaded, failed) => {
        const script = el("script", { src: `/assets/vendor/${file}` });
        script.onload = loaded;
        script.onerror = () => failed(new Error(`could not load ${file}`));
        document.head.append(script);
      });
    }
    const { expressionInterpreter } = await import("./vendor/vega-interpreter.js");
    return { embed: window.vegaEmbed, expr: expressionInterpreter };
  })();
  return vegaLoading;
}

/// A figure for `rows` as `config` says; drawn asynchronously (`data-state` becomes "drawn").
export function renderChart(config, rows, { title, columns }) {
  const box = el("figure", { class: "chart", "data-chart-type": config.type, "data-state": "drawing" });
  if (config.type === "single_value") {
    const row = rows[0];
    const value = row[config.value];
    const label = config.label && row[config.label] !== undefined ? row[config.label] : config.label;
    box.append(el("div", { class: "single" }, formatValue(value, config.unit)));
    if (label) box.append(el("figcaption", { class: "muted" }, String(label)));
    box.dataset.state = "drawn";
    return box;
  }
  // The page decides the size: the column's width, a fixed height.
  const spec = { width: "container", height: 260, ...(config.vega_lite || fallbackSpec(config)) };
  spec.description = `${title}: ${config.type.replace("_", " ")} chart of ${config.y} by ${config.x}`
    + (config.series ? ` for each ${config.series}` : "");
  // Vega parses dates into the objects it is given: it gets copies, the table keeps the rows.
  spec.data = { name: "rows", values: rows.map((row) => ({ ...row })) };
  const view = el("div", { class: "chart-view" });
  const png = el("button", { type: "button", class: "link", disabled: "" }, icon("download"), "PNG");
  const csv = el("button", { type: "button", class: "link" }, icon("download"), "CSV");
  png.setAttribute("aria-label", "Download the chart as PNG");
  csv.setAttribute("aria-label", "Download the rows as CSV");
  const name = fileName(title);
  csv.addEventListener("click", () => download(`${name}.csv`, toCsv(rows, columns || Object.keys(rows[0] || {})), "text/csv"));
  box.append(view, el("div", { class: "chart-actions" }, png, csv));
  draw(view, spec).then((vegaView) => {
    box.vegaView = vegaView;
    png.disabled = false;
    png.addEventListener("click", async () => download(`${name}.png`, await vegaView.toImageURL("png", 2)));
    box.dataset.state = "drawn";
  }).catch((error) => {
    box.dataset.state = "failed";
    view.replaceChildren(el("p", { class: "muted" }, `The chart could not be drawn: ${error.message}`));
  });
  return box;
}

/// Stops the Vega views under `node` (their listeners and timers) once it leaves the page.
export function finalizeCharts(node) {
  for (const figure of node.querySelectorAll("figure.chart")) {
    if (figure.vegaView) figure.vegaView.finalize();
    figure.vegaView = null;
  }
}

async function draw(target, spec) {
  const { embed, expr } = await loadVega();
  const result = await embed(target, spec, {
    mode: "vega-lite",
    actions: false,
    renderer: "svg",
    ast: true,
    expr,
    defaultStyle: false,
    tooltip: { disableDefaultStyle: true },
    config: theme(),
  });
  return result.view;
}

/// Colours from the page's own (light or dark) palette.
function theme() {
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const ink = color("--ink");
  const muted = color("--muted");
  const line = color("--line");
  return {
    background: null,
    font: "system-ui, sans-serif",
    view: { stroke: null },
    axis: { labelColor: muted, titleColor: ink, gridColor: line, domainColor: muted, tickColor: muted },
    legend: { labelColor: muted, titleColor: ink },
    line: { color: "#2f5bd3" },
    bar: { color: "#2f5bd3" },
    point: { color: "#2f5bd3" },
  };
}

/// A spec for a config saved before configs carried one.
function fallbackSpec(config) {
  return {
    mark: { type: config.type === "line" ? "line" : "bar", tooltip: true },
    encoding: {
      x: { field: config.x, type: "nominal", sort: null },
      y: { field: config.y, type: "quantitative" },
    },
  };
}

function fileName(title) {
  return (title || "chart").replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "").toLowerCase() || "chart";
}

/// RFC 4180 CSV of rows (objects), in the result's column order.
function toCsv(rows, columns) {
  const cell = (value) => {
    let text = value === null || value === undefined ? "" : String(value);
    // Text a spreadsheet would run as a formula is kept as text.
    if (typeof value === "string" && /^[=+@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns, ...rows.map((row) => columns.map((c) => row[c]))]
    .map((values) => values.map(cell).join(","))
    .join("\r\n") + "\r\n";
}
