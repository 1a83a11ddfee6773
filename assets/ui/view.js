// Skein's web UI: rendering (the sidebar, a thread, an answer's parts) and DOM helpers.
// Loaded before actions.js and app.js, which hold the state and constants it reads.
"use strict";

// ---- rendering: sidebar ------------------------------------------------------------------

function renderThreadList() {
  const list = $("thread-list");
  const items = [...state.threads.values()].sort((a, b) =>
    b.last_edited.localeCompare(a.last_edited) || a.id.localeCompare(b.id));
  list.replaceChildren(...items.map((item) => {
    const li = el("li", { tabindex: "0", "data-thread-id": item.id });
    if (item.id === state.current) li.classList.add("current");
    li.append(el("span", { class: "title" }, item.title || "Untitled"));
    const meta = el("span", { class: "meta" });
    meta.append(el("span", { class: `badge ${item.status}` }, statusLabel(item.status)));
    meta.append(el("span", {}, new Date(item.last_edited).toLocaleString()));
    li.append(meta);
    li.addEventListener("click", () => openThread(item.id));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") openThread(item.id); });
    return li;
  }));
  $("thread-list-empty").hidden = items.length > 0;
}

/// Requests one page of the thread list (page 0 replaces the list).
function loadPage(page) {
  state.pages.loading = true;
  const remember = (id) => { if (page > 0) state.pages.requests.add(id); };
  request("/threads/list", { page_size: PAGE_SIZE, page_token: page }, remember)
    .then((reply) => {
      state.pages.loaded = page + 1;
      state.pages.more = reply.payload.length === PAGE_SIZE;
    })
    .catch(toastError)
    .finally(() => { state.pages.loading = false; });
}

/// Near the bottom of the sidebar, the next page loads.
function maybeLoadMore() {
  const sidebar = $("sidebar");
  const nearBottom = sidebar.scrollTop + sidebar.clientHeight >= sidebar.scrollHeight - 80;
  if (nearBottom && state.pages.more && !state.pages.loading && state.connected) loadPage(state.pages.loaded);
}

function statusLabel(status) {
  return { verified: "Verified", notVerified: "Not verified", rejected: "Rejected" }[status] || status;
}

function renderDatasets() {
  const picker = $("dataset-picker");
  const chosen = picker.value;
  const auto = el("option", {}, "auto");
  auto.value = ""; // no dataset_id: the analyst picks
  picker.replaceChildren(auto, ...state.datasets.map((d) => el("option", { value: d.id }, d.name)));
  picker.value = chosen;
}

function renderPresence() {
  const others = [...state.presence.entries()].filter(([id]) => !state.me || id !== state.me.id);
  $("presence").textContent = others.length
    ? `Also here: ${others.map(([, name]) => name).join(", ")}`
    : "";
}

// ---- rendering: a thread -----------------------------------------------------------------

function renderThread() {
  const thread = state.thread;
  $("thread-title").textContent = thread ? thread.title : "New question";
  $("thread-actions").hidden = !thread;
  const container = $("messages");
  if (!thread) {
    state.rendered.clear();
    container.replaceChildren();
    return;
  }
  // Rebuild only messages that changed, and patch the DOM in place, so that an open SQL editor
  // keeps its text and focus while other messages update.
  const nodes = thread.messages.map((message) => {
    const stream = state.streams.get(message.id);
    const key = JSON.stringify(message) + JSON.stringify(stream ? [...stream.steps] : null)
      + (state.editing && state.editing.messageId === message.id ? "editing" : "")
      + (state.rows.has(message.id) ? state.rows.get(message.id).sql : "");
    const previous = state.rendered.get(message.id);
    if (previous && previous.key === key) return previous.node;
    const node = renderMessage(message);
    state.rendered.set(message.id, { key, node });
    return node;
  });
  nodes.forEach((node, i) => {
    if (container.children[i] !== node) container.insertBefore(node, container.children[i] || null);
  });
  while (container.children.length > nodes.length) container.lastElementChild.remove();
  if (state.focusMessage) {
    const target = document.getElementById(`msg-${state.focusMessage}`);
    if (target) {
      target.classList.add("highlight");
      target.scrollIntoView({ block: "center" });
      state.focusMessage = null;
    }
  }
}

/// The steps of a message: live while it streams, else as persisted in its context.
function stepsOf(message) {
  const live = state.streams.get(message.id);
  if (live) return live.steps;
  const steps = new Map();
  for (const entry of (message.context && message.context.steps) || []) {
    const [name, body] = Object.entries(entry)[0];
    steps.set(name, { progress: body.progress, text: "", payload: snakeCase(body), error: body.error });
  }
  return steps;
}

function snakeCase(object) {
  const out = {};
  for (const [key, value] of Object.entries(object)) {
    out[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  }
  return out;
}

function renderMessage(message) {
  const box = el("article", { class: "message", id: `msg-${message.id}` });
  const question = el("div", { class: "question" });
  question.append(el("span", { class: "who" }, message.sent_by_name || ""), message.message);
  box.append(question);

  const steps = stepsOf(message);
  const failed = [...steps.values()].find((s) => s.progress === "failed");
  // Live progress while the analyst works (and a failure's steps, which say why); once it
  // answered, the steps fold into one disclosure.
  const answered = message.responses != null && !failed && !state.streams.has(message.id);
  if (answered) box.append(renderStepsDisclosure(message, steps));
  else if (steps.size) box.append(renderStepList(steps));
  if (failed) box.append(el("p", { class: "failure", role: "alert" }, failed.error || "This step failed."));

  // What was computed, and from which dataset, before any number: a misreading shows at a glance.
  const interpretation = (message.responses && message.responses.interpretation)
    || stepField(steps, "generatingSql", "interpretation");
  if (interpretation && !failed) {
    const chosen = stepField(steps, "identifyingDataset", "dataset");
    const known = state.datasets.find((d) => d.id === message.dataset_id);
    const datasetName = (chosen && chosen.name) || (known && known.name);
    const line = el("p", { class: "interpretation", "aria-label": "What was computed" },
      el("strong", {}, "Computed: "), interpretation);
    if (datasetName) line.append(el("span", { class: "dataset-used" }, ` Dataset: ${datasetName}`));
    box.append(line);
  }

  const title = message.title || textOf(steps, "generatingMetricTitle", "metric_title");
  if (title) {
    const heading = el("div", { class: "answer-title" }, title);
    const frame = message.time_frame || textOf(steps, "generatingTimeFrame", "time_frame");
    if (frame) heading.append(el("span", { class: "time-frame" }, frame));
    box.append(heading);
  }

  const data = rowsOf(message, steps, box);
  const meta = message.data_metadata || stepField(steps, "fetchingData", "data_metadata");
  if (Array.isArray(data) && data.length && message.chart_config && message.chart_config.type) {
    box.append(renderChart(message.chart_config, data, meta));
  }
  const summary = (message.responses && message.responses.messages && !failed && message.responses.messages[0])
    || textOf(steps, "generatingDataSummary", "data_summary");
  if (summary) box.append(el("p", { class: "summary" }, summary));
  const explanation = (message.responses && message.responses.messages && message.responses.messages[1])
    || textOf(steps, "generatingDataExplanation", "data_explanation");
  if (explanation) box.append(el("p", { class: "explanation" }, explanation));
  if (Array.isArray(data)) box.append(renderTable(data, meta));

  const sql = sqlOf(message.code, steps);
  if (state.editing && state.editing.messageId === message.id) {
    box.append(renderSqlEditor(message));
  } else if (sql) {
    const pre = el("pre", { class: "sql", "aria-label": "SQL" });
    pre.innerHTML = highlightSql(sql);
    box.append(pre);
  }
  if (message.dataset_id) box.append(renderMessageActions(message));
  return box;
}

function renderStepList(steps) {
  const list = el("ul", { class: "steps", "aria-label": "Analysis steps" });
  for (const [name, label] of STEPS) {
    const step = steps.get(name);
    if (step) list.append(el("li", { class: step.progress, "data-step": name }, `${label}: ${progressLabel(step.progress)}`));
  }
  return list;
}

/// "How this was computed": the answer's steps, fetched when first opened if the thread state
/// left them out.
function renderStepsDisclosure(message, steps) {
  const open = state.stepsOpen.has(message.id);
  const details = el("details", { class: "how" }, el("summary", {}, "How this was computed"));
  details.open = open;
  if (steps.size) details.append(renderStepList(steps));
  else if (open) details.append(el("p", { class: "muted" }, "Loading…"));
  details.addEventListener("toggle", () => {
    if (!details.open) {
      state.stepsOpen.delete(message.id);
      return;
    }
    state.stepsOpen.add(message.id);
    if (!steps.size) {
      details.append(el("p", { class: "muted" }, "Loading…"));
      loadSteps(message);
    }
  });
  return details;
}

/// Status, feedback and SQL editing for an answered message.
function renderMessageActions(message) {
  const bar = el("div", { class: "message-actions" });
  const status = el("select", { "aria-label": "Verification status" });
  for (const [value, label] of [["notVerified", "Not verified"], ["verified", "Verified"], ["rejected", "Rejected"]]) {
    const option = el("option", {}, label);
    option.value = value;
    status.append(option);
  }
  status.value = message.status;
  status.addEventListener("change", () => updateMessage(message, { status: status.value }));
  bar.append(status);
  for (const [value, label, symbol] of [["positive", "Thumbs up", "▲"], ["negative", "Thumbs down", "▼"]]) {
    const pressed = message.feedback === value;
    const button = el("button", { type: "button", "aria-label": label, "aria-pressed": String(pressed) }, symbol);
    button.addEventListener("click", () => updateMessage(message, { feedback: pressed ? null : value }));
    bar.append(button);
  }
  if (!state.editing) {
    const edit = el("button", { type: "button" }, "Edit SQL");
    edit.addEventListener("click", () => {
      state.editing = { messageId: message.id, text: message.code || "" };
      renderThread();
      document.getElementById(`sql-editor-${message.id}`)?.focus();
    });
    bar.append(edit);
  }
  return bar;
}

function renderSqlEditor(message) {
  const form = el("form", { class: "sql-editor" });
  const area = el("textarea", { id: `sql-editor-${message.id}`, "aria-label": "Edit SQL", spellcheck: "false" });
  area.value = state.editing.text;
  area.addEventListener("input", () => { state.editing.text = area.value; });
  const save = el("button", { type: "submit", class: "primary" }, "Run and save");
  const cancel = el("button", { type: "button", class: "link" }, "Cancel");
  cancel.addEventListener("click", () => { state.editing = null; renderThread(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    const saved = await updateMessage(message, { code: state.editing.text });
    save.disabled = false;
    if (saved) {
      state.editing = null;
      renderThread();
    }
  });
  form.append(area, el("div", { class: "row" }, cancel, save));
  return form;
}

/// Sends a change of one message; the new state arrives as updateThreadState. Returns success.
async function updateMessage(message, change) {
  try {
    await request("/threads/update", { id: message.thread_id, message_id: message.id, ...change });
    return true;
  } catch (error) {
    toastError(error);
    return false;
  }
}

function progressLabel(progress) {
  return { inProgress: "working", completed: "done", failed: "failed" }[progress] || progress;
}

/// A step's final field, or its chunks so far while it streams.
function textOf(steps, name, field) {
  const step = steps.get(name);
  if (!step) return "";
  if (step.payload && typeof step.payload[field] === "string") return step.payload[field];
  return step.text || "";
}

/// The SQL whose rows a message shows: its saved code, or else the steps' latest SQL.
function sqlOf(code, steps) {
  return code || textOf(steps, "fixingSql", "sql") || textOf(steps, "generatingSql", "sql");
}

/// An answer's rows: all of them once known (from its live stream, or paged in through
/// /threads/data), else the state's preview while the rest loads. A thread state leaves out
/// the steps of finished answers, preview included: those rows are paged in once the answer
/// (`box`) comes near the screen.
function rowsOf(message, steps, box) {
  const sql = sqlOf(message.code, steps);
  const known = state.rows.get(message.id);
  if (known && known.sql === sql) return known.rows;
  const preview = stepField(steps, "fetchingData", "data");
  if (preview !== undefined) {
    if (stepField(steps, "fetchingData", "data_complete") === false) loadRows(message, sql);
    return preview;
  }
  const count = message.data_metadata && message.data_metadata.row_count;
  if (count === 0) return [];
  if (count && sql) whenNearScreen(box, () => loadRows(message, sql));
  return undefined;
}

const nearScreen = new WeakMap(); // element → what to do when it comes near the screen
const nearScreenObserver = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    nearScreenObserver.unobserve(entry.target);
    const run = nearScreen.get(entry.target);
    nearScreen.delete(entry.target);
    if (run) run();
  }
}, { rootMargin: "800px 0px" });

function whenNearScreen(node, run) {
  nearScreen.set(node, run);
  nearScreenObserver.observe(node);
}

function stepField(steps, name, field) {
  const step = steps.get(name);
  return step && step.payload ? step.payload[field] : undefined;
}

// ---- rendering: answer parts -------------------------------------------------------------

function renderChart(config, rows, meta) {
  const box = el("figure", { class: "chart", "data-chart-type": config.type });
  if (config.type === "single_value") {
    const row = rows[0];
    const value = row[config.value];
    const label = config.label && row[config.label] !== undefined ? row[config.label] : config.label;
    box.append(el("div", { class: "single" }, formatNumber(value)));
    if (label) box.append(el("figcaption", { class: "muted" }, String(label)));
    return box;
  }
  const x = config.x;
  const y = config.y;
  const points = rows.map((row) => ({ label: String(row[x]), value: Number(row[y]) || 0 }));
  const width = 640, height = 260, left = 70, bottom = 40, top = 10;
  const max = Math.max(...points.map((p) => p.value), 0) || 1;
  const plotWidth = width - left - 10;
  const plotHeight = height - bottom - top;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${config.type} chart of ${y} by ${x}` });
  for (const fraction of [0, 0.5, 1]) {
    const yPos = top + plotHeight * (1 - fraction);
    svg.append(svgEl("line", { x1: left, x2: width - 10, y1: yPos, y2: yPos, stroke: "#e2e1dc" }));
    const label = svgEl("text", { x: left - 6, y: yPos + 4, "text-anchor": "end", "font-size": 11, fill: "#6b6b66" });
    label.textContent = formatNumber(max * fraction);
    svg.append(label);
  }
  const step = plotWidth / Math.max(points.length, 1);
  const yOf = (value) => top + plotHeight * (1 - value / max);
  if (config.type === "line") {
    const path = points.map((p, i) => `${i ? "L" : "M"}${left + step * (i + 0.5)},${yOf(p.value)}`).join(" ");
    svg.append(svgEl("path", { d: path, fill: "none", stroke: "#2f5bd3", "stroke-width": 2, class: "series" }));
  } else {
    points.forEach((p, i) => {
      const bar = svgEl("rect", {
        x: left + step * i + step * 0.15, width: step * 0.7,
        y: yOf(p.value), height: Math.max(top + plotHeight - yOf(p.value), 0), fill: "#2f5bd3", class: "bar",
      });
      const tip = svgEl("title", {});
      tip.textContent = `${p.label}: ${formatNumber(p.value)}`;
      bar.append(tip);
      svg.append(bar);
    });
  }
  const every = Math.ceil(points.length / 12);
  points.forEach((p, i) => {
    if (i % every) return;
    const label = svgEl("text", { x: left + step * (i + 0.5), y: height - bottom + 16, "text-anchor": "middle", "font-size": 10, fill: "#6b6b66" });
    label.textContent = p.label.length > 14 ? `${p.label.slice(0, 13)}…` : p.label;
    svg.append(label);
  });
  box.append(svg);
  return box;
}

function renderTable(rows, meta) {
  const wrap = el("div", { class: "table-block" });
  const columns = meta && meta.column_metadata ? meta.column_metadata.map((c) => c.name) : Object.keys(rows[0] || {});
  const sort = { column: null, descending: false };
  const table = el("table", { "aria-label": "Data" });
  const draw = () => {
    const sorted = [...rows];
    if (sort.column) {
      sorted.sort((a, b) => compare(a[sort.column], b[sort.column]) * (sort.descending ? -1 : 1));
    }
    const head = el("tr");
    for (const column of columns) {
      const button = el("button", { type: "button" }, column + (sort.column === column ? (sort.descending ? " ▼" : " ▲") : ""));
      button.addEventListener("click", () => {
        sort.descending = sort.column === column ? !sort.descending : false;
        sort.column = column;
        draw();
      });
      const th = el("th", { scope: "col" });
      th.append(button);
      head.append(th);
    }
    const body = sorted.map((row) => {
      const tr = el("tr");
      for (const column of columns) {
        const value = row[column];
        tr.append(el("td", { class: typeof value === "number" ? "num" : "" }, value === null || value === undefined ? "" : typeof value === "number" ? formatNumber(value) : String(value)));
      }
      return tr;
    });
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  };
  draw();
  const scroll = el("div", { class: "table-wrap" });
  scroll.append(table);
  wrap.append(scroll);
  if (meta && meta.truncated) {
    wrap.append(el("p", { class: "cap-note" }, `Showing the first ${meta.row_cap} rows; the result had more.`));
  } else if (meta) {
    wrap.append(el("p", { class: "cap-note" }, `${meta.row_count} row${meta.row_count === 1 ? "" : "s"}`));
  }
  return wrap;
}

function compare(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a ?? "").localeCompare(String(b ?? ""));
}

function formatNumber(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return String(value ?? "");
  return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

const SQL_KEYWORDS = /\b(SELECT|FROM|WHERE|GROUP|BY|ORDER|LIMIT|AND|OR|NOT|AS|IN|IS|NULL|WITH|JOIN|LEFT|RIGHT|INNER|ON|DISTINCT|HAVING|CASE|WHEN|THEN|ELSE|END|DESC|ASC|UNION|ALL)\b/gi;

/// SQL as HTML with keywords, functions, strings and numbers marked (input is escaped first).
function highlightSql(sql) {
  const escaped = sql.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return escaped
    .split(/('(?:[^']|'')*')/g)
    .map((part, i) => {
      if (i % 2 === 1) return `<span class="str">${part}</span>`;
      return part
        .replace(/\b(\d+(?:\.\d+)?)\b/g, '<span class="num">$1</span>')
        .replace(/\b([a-z_]+)(?=\()/gi, '<span class="fn">$1</span>')
        .replace(SQL_KEYWORDS, (k) => `<span class="kw">${k}</span>`);
    })
    .join("");
}

// ---- helpers -----------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== "") node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function svgEl(tag, attributes) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

function toast(text, isError = false) {
  const note = el("div", { class: `toast${isError ? " error" : ""}`, role: isError ? "alert" : "status" }, text);
  $("toasts").append(note);
  setTimeout(() => note.remove(), 8000);
}

function toastError(error) {
  toast(error.message || String(error), true);
}
