// One message of a thread: the question, the analyst's progress (live) or its folded steps,
// what was computed and from which dataset, the chart, the words, the rows, the SQL, and the
// actions on an answer. A refused question shows the words not understood and questions to
// ask instead.

import { state } from "./state.js";
import { el, icon } from "./dom.js";
import { renderChart } from "./charts.js";
import { highlightSql, renderTable } from "./table.js";
import { askQuestion, loadRows, loadSteps, renderThread, updateMessage } from "./thread.js";

export function renderMessage(message) {
  const box = el("article", { class: "message", id: `msg-${message.id}` });
  const question = el("div", { class: "question" });
  question.append(el("span", { class: "who" }, message.sent_by_name || ""), message.message);
  box.append(question);

  const steps = stepsOf(message);
  const failed = [...steps.values()].find((s) => s.progress === "failed");
  // Live progress while the analyst works (and a failure's steps, which say why); once it
  // answered, the steps fold into one disclosure.
  const answered = message.responses != null && !failed && !state.streams.has(message.id);
  const sql = sqlOf(message.code, steps);
  const editing = state.editing && state.editing.messageId === message.id;
  if (answered) box.append(renderStepsDisclosure(message, steps, editing ? "" : sql));
  else if (steps.size) box.append(renderStepList(steps));
  if (failed) {
    box.append(el("p", { class: "failure", role: "alert" }, failed.error || "This step failed."));
    const refusal = renderRefusal(message, failed);
    if (refusal) box.append(refusal);
  }

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
    const columns = meta && meta.column_metadata ? meta.column_metadata.map((c) => c.name) : null;
    box.append(renderChart(message.chart_config, data, { title: title || "chart", columns }));
  }
  const summary = (message.responses && message.responses.messages && !failed && message.responses.messages[0])
    || textOf(steps, "generatingDataSummary", "data_summary");
  if (summary) box.append(el("p", { class: "summary" }, summary));
  // The chart and table hold only the rows under the cap: say so next to the figures (the
  // summary itself says whether its figures cover all rows).
  if (meta && meta.truncated) {
    box.append(el("p", { class: "cap-warning", role: "note" },
      `The result has more than ${meta.row_cap.toLocaleString()} rows: the chart and table show the first `
      + `${meta.row_cap.toLocaleString()}.`));
  }
  const explanation = (message.responses && message.responses.messages && message.responses.messages[1])
    || textOf(steps, "generatingDataExplanation", "data_explanation");
  if (explanation) box.append(el("p", { class: "explanation" }, explanation));
  if (Array.isArray(data)) box.append(renderTable(data, meta));

  // While the analyst works the SQL types itself in here; once answered it is in the disclosure.
  if (editing) box.append(renderSqlEditor(message));
  else if (sql && !answered) box.append(renderSql(sql));
  if (message.dataset_id) box.append(renderMessageActions(message));
  return box;
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

/// The steps in the server's order, with its names for them.
function renderStepList(steps) {
  const list = el("ul", { class: "steps", "aria-label": "Analysis steps" });
  const order = state.steps.length ? state.steps : [...steps.keys()].map((name) => ({ name, label: name }));
  for (const { name, label } of order) {
    const step = steps.get(name);
    if (!step) continue;
    const took = step.payload && step.payload.elapsed_ms;
    list.append(el("li", { class: step.progress, "data-step": name },
      `${label}: ${progressLabel(step.progress)}${took != null ? ` · ${formatMs(took)}` : ""}`));
  }
  return list;
}

function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toLocaleString(undefined, { maximumFractionDigits: 1 })} ms`;
}

/// The time all of a run's steps took.
function totalMs(steps) {
  let total = 0;
  for (const step of steps.values()) total += (step.payload && step.payload.elapsed_ms) || 0;
  return total;
}

function renderSql(sql) {
  const pre = el("pre", { class: "sql", "aria-label": "SQL" });
  pre.innerHTML = highlightSql(sql);
  return pre;
}

/// "How this was computed": the answer's steps with their timing (fetched when first opened if
/// the thread state left them out), then its SQL.
function renderStepsDisclosure(message, steps, sql) {
  const open = state.stepsOpen.has(message.id);
  const took = steps.size ? ` · ${formatMs(totalMs(steps))}` : "";
  const details = el("details", { class: "how" }, el("summary", {}, `How this was computed${took}`));
  details.open = open;
  if (steps.size) details.append(renderStepList(steps));
  else if (open) details.append(el("p", { class: "muted" }, "Loading…"));
  if (sql) details.append(renderSql(sql));
  details.addEventListener("toggle", () => {
    if (!details.open) {
      state.stepsOpen.delete(message.id);
      return;
    }
    state.stepsOpen.add(message.id);
    if (!steps.size) {
      details.insertBefore(el("p", { class: "muted" }, "Loading…"), details.querySelector("pre"));
      loadSteps(message);
    }
  });
  return details;
}

/// A question the analyst did not understand: the words it could not place, and questions it
/// can answer, each a button that asks it.
function renderRefusal(message, failed) {
  const words = (failed.payload && failed.payload.not_understood) || [];
  const suggestions = (failed.payload && failed.payload.suggested_questions) || [];
  if (!words.length && !suggestions.length) return null;
  const box = el("div", { class: "refusal" });
  if (words.length) {
    box.append(el("p", { class: "not-understood", "aria-label": "Words not understood" },
      "Not understood: ", ...words.map((word) => el("mark", { class: "word" }, word))));
  }
  if (suggestions.length) {
    const chips = el("div", { class: "chips", role: "group", "aria-label": "Questions to ask instead" });
    for (const suggestion of suggestions) {
      const chip = el("button", { type: "button", class: "chip" }, suggestion);
      chip.addEventListener("click", () => askQuestion(suggestion, message.dataset_id || null));
      chips.append(chip);
    }
    box.append(el("p", { class: "muted" }, "Try instead:"), chips);
  }
  return box;
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
  for (const [value, name, text] of [["positive", "thumbs-up", "Helpful"], ["negative", "thumbs-down", "Not helpful"]]) {
    const pressed = message.feedback === value;
    // The name starts with the words shown, so speech input can say them.
    const label = `${text} (${name.replace("-", " ")})`;
    const button = el("button", { type: "button", class: "feedback", "aria-label": label, "aria-pressed": String(pressed), title: label },
      icon(name), el("span", {}, text));
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
export function sqlOf(code, steps) {
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

export function whenNearScreen(node, run) {
  nearScreen.set(node, run);
  nearScreenObserver.observe(node);
}

function stepField(steps, name, field) {
  const step = steps.get(name);
  return step && step.payload ? step.payload[field] : undefined;
}
