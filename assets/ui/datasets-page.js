// The Datasets page: every member sees their org's datasets, their columns' notes, first rows
// and questions to ask; org admins also upload a CSV (previewed with its inferred types and
// roles before anything is written), edit the notes the analyst reads, replace the rows and
// remove a dataset. The server enforces who may do what; this page only hides what would fail.

import { $, state } from "./state.js";
import { el, toast, toastError } from "./dom.js";
import { loadDatasets, request } from "./connection.js";
import { renderTable } from "./table.js";
import { askQuestion, closeThread } from "./thread.js";
import { showView } from "./datasets.js";

const ROLES = ["id", "time", "dimension", "measure"];
const AGGREGATES = ["sum", "avg", "min", "max", "last"];

const page = { detail: null, upload: null }; // the dataset open, the CSV being added

// A request is one WebSocket frame of at most 1 MiB (the server's limit), the CSV's text
// with room for the rest; bigger files go through the CLI.
const MAX_CSV_BYTES = 1024 * 1024 - 4096;

/// The text of a chosen CSV file, or an error that says what to do with a big one.
async function csvText(file) {
  if (file.size > MAX_CSV_BYTES) {
    throw new Error(`${file.name} is ${(file.size / 1048576).toFixed(1)} MiB; the page takes CSVs up to 1 MiB. `
      + "Add bigger ones with `skein dataset add NAME --csv FILE`.");
  }
  return file.text();
}

const isAdmin = () => Boolean(state.me && state.me.admin);

export function openDatasetsPage() {
  closeThread();
  showView("datasets");
  page.detail = null;
  page.upload = null;
  renderDatasetsPage();
}

export function renderDatasetsPage() {
  if (state.view !== "datasets") return;
  const root = $("datasets-view");
  const parts = [el("h1", {}, "Datasets")];
  if (isAdmin()) parts.push(renderUpload());
  if (page.detail) parts.push(renderDetail(page.detail));
  else parts.push(renderList());
  root.replaceChildren(...parts);
}

function renderList() {
  const list = el("ul", { class: "dataset-list", "aria-label": "Datasets" });
  if (!state.datasets.length) list.append(el("li", { class: "muted" }, "No datasets yet."));
  for (const dataset of state.datasets) {
    const open = el("button", { type: "button", class: "link" }, dataset.name);
    open.addEventListener("click", () => openDetail(dataset.id));
    list.append(el("li", { "data-dataset-id": dataset.id }, open,
      el("span", { class: "muted" }, ` ${dataset.columns.length} columns · table ${dataset.table}`),
      dataset.description ? el("p", { class: "muted" }, dataset.description) : ""));
  }
  return list;
}

async function openDetail(id) {
  try {
    const reply = await request("/datasets/get", { id });
    page.detail = reply.payload;
    renderDatasetsPage();
  } catch (error) {
    toastError(error);
  }
}

// ---- adding a CSV ------------------------------------------------------------------------

function renderUpload() {
  const form = el("form", { class: "dataset-upload", "aria-label": "Add a dataset" });
  const file = el("input", { type: "file", accept: ".csv,text/csv", "aria-label": "CSV file", required: "" });
  const name = el("input", { "aria-label": "Dataset name", placeholder: "name", required: "" });
  const preview = el("button", { type: "submit" }, "Preview");
  file.addEventListener("change", () => {
    if (file.files[0] && !name.value) name.value = file.files[0].name.replace(/\.csv$/i, "");
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files[0]) return;
    try {
      const csv = await csvText(file.files[0]);
      const reply = await request("/datasets/preview", { csv });
      page.upload = { name: name.value.trim(), csv, preview: reply.payload };
      page.detail = null;
      renderDatasetsPage();
    } catch (error) {
      toastError(error);
    }
  });
  form.append(el("h2", {}, "Add a dataset"), el("div", { class: "row" }, file, name, preview));
  const box = el("section", { class: "dataset-add" }, form);
  if (page.upload) box.append(renderPreview(page.upload));
  return box;
}

function renderPreview(upload) {
  const { columns, sample } = upload.preview;
  const editor = renderColumnEditor(columns, true);
  const description = el("input", { "aria-label": "Description", placeholder: "what the data is (optional)" });
  const add = el("button", { type: "button", class: "primary" }, "Add dataset");
  const cancel = el("button", { type: "button", class: "link" }, "Cancel");
  cancel.addEventListener("click", () => { page.upload = null; renderDatasetsPage(); });
  add.addEventListener("click", async () => {
    add.disabled = true;
    try {
      const reply = await request("/datasets/add", {
        name: upload.name, csv: upload.csv, description: description.value, columns: editor.notes(true),
      });
      page.upload = null;
      await openDetail(reply.payload.id);
      await loadDatasets();
      toast(`Added ${reply.payload.name}.`);
    } catch (error) {
      add.disabled = false;
      toastError(error);
    }
  });
  return el("div", { class: "dataset-preview", "aria-label": "Preview" },
    el("p", {}, `${sample.row_count} rows; check the types and roles the analyst will use:`),
    editor.node, description, renderTable(sample.rows, null), el("div", { class: "row" }, cancel, add));
}

// ---- one dataset -------------------------------------------------------------------------

function renderDetail(dataset) {
  const box = el("section", { class: "dataset-detail", "aria-labelledby": "dataset-heading" });
  const back = el("button", { type: "button", class: "link" }, "← All datasets");
  back.addEventListener("click", () => { page.detail = null; renderDatasetsPage(); });
  box.append(back, el("h2", { id: "dataset-heading" }, dataset.name),
    el("p", { class: "muted" }, `table ${dataset.table} · ${dataset.sample.row_count} rows`));
  if (dataset.description) box.append(el("p", {}, dataset.description));
  if (dataset.example_questions.length) {
    const chips = el("div", { class: "chips", role: "group", "aria-label": `Questions about ${dataset.name}` });
    for (const question of dataset.example_questions) {
      const chip = el("button", { type: "button", class: "chip" }, question);
      chip.addEventListener("click", () => {
        closeThread();
        showView("thread");
        askQuestion(question, dataset.id);
      });
      chips.append(chip);
    }
    box.append(chips);
  }
  const editor = renderColumnEditor(dataset.columns, isAdmin());
  box.append(el("h3", {}, "Columns"), editor.node);
  if (isAdmin()) box.append(renderAdminActions(dataset, editor));
  box.append(el("h3", {}, "First rows"), renderTable(dataset.sample.rows, null));
  return box;
}

function renderAdminActions(dataset, editor) {
  const save = el("button", { type: "button", class: "primary" }, "Save notes");
  save.addEventListener("click", async () => {
    try {
      await request("/datasets/update", { id: dataset.id, columns: editor.notes(false) });
      await openDetail(dataset.id);
      await loadDatasets();
      toast("Notes saved.");
    } catch (error) {
      toastError(error);
    }
  });
  const file = el("input", { type: "file", accept: ".csv,text/csv", "aria-label": "Replacement CSV" });
  const replace = el("button", { type: "button" }, "Replace data");
  replace.addEventListener("click", async () => {
    if (!file.files[0]) {
      toast("Choose a CSV with the new rows first.", true);
      return;
    }
    try {
      await request("/datasets/replace", { id: dataset.id, csv: await csvText(file.files[0]) });
      await openDetail(dataset.id);
      await loadDatasets();
      toast("Data replaced.");
    } catch (error) {
      toastError(error);
    }
  });
  const remove = el("button", { type: "button", class: "danger" }, "Remove dataset");
  remove.addEventListener("click", () => {
    const dialog = $("remove-dataset-dialog");
    dialog.returnValue = "";
    dialog.onclose = async () => {
      if (dialog.returnValue !== "remove") return;
      try {
        await request("/datasets/remove", { id: dataset.id });
        toast(`Removed ${dataset.name}.`);
        page.detail = null;
        await loadDatasets();
      } catch (error) {
        toastError(error);
      }
    };
    dialog.showModal();
  });
  return el("div", { class: "dataset-actions" }, save, el("span", { class: "row" }, file, replace), remove);
}

/// A table of columns: type, and the notes the analyst reads (editable if `editable`).
/// `notes(fresh)` gives them as `/datasets/add` (fresh) or `/datasets/update` take them.
function renderColumnEditor(columns, editable) {
  const rows = columns.map((column) => {
    const role = select(ROLES, column.role, `Role of ${column.name}`, editable);
    const aggregate = select(["auto", ...AGGREGATES], column.aggregate || "auto", `Aggregation of ${column.name}`, editable);
    const unit = input(column.unit, `Unit of ${column.name}`, editable);
    const meaning = input(column.meaning, `Meaning of ${column.name}`, editable);
    const onlyMeasures = () => { aggregate.disabled = !editable || role.value !== "measure"; };
    role.addEventListener("change", onlyMeasures);
    onlyMeasures();
    return { column, role, aggregate, unit, meaning };
  });
  const table = el("table", { class: "columns-editor", "aria-label": "Columns" },
    el("thead", {}, el("tr", {}, ...["Column", "Type", "Role", "Aggregation", "Unit", "Meaning"]
      .map((title) => el("th", { scope: "col" }, title)))),
    el("tbody", {}, ...rows.map((r) => el("tr", { "data-column": r.column.name },
      el("td", {}, r.column.name), el("td", {}, r.column.type),
      ...[r.role, r.aggregate, r.unit, r.meaning].map((control) => el("td", {}, control))))));
  const notes = (fresh) => Object.fromEntries(rows.map((r) => {
    const measure = r.role.value === "measure";
    const chosen = measure && r.aggregate.value !== "auto" ? r.aggregate.value : null;
    const text = (field) => field.value.trim() || null;
    const note = { role: r.role.value, unit: text(r.unit), meaning: text(r.meaning) };
    if (fresh) {
      // Adding: only what is set (absent fields are inferred).
      for (const key of Object.keys(note)) if (note[key] === null) delete note[key];
      if (chosen) note.aggregate = chosen;
    } else {
      note.aggregate = chosen; // null: inferred again
    }
    return [r.column.name, note];
  }));
  return { node: el("div", { class: "table-wrap" }, table), notes };
}

function select(options, value, label, enabled) {
  const node = el("select", { "aria-label": label });
  for (const option of options) node.append(el("option", { value: option }, option));
  node.value = value;
  node.disabled = !enabled;
  return node;
}

function input(value, label, enabled) {
  const node = el("input", { "aria-label": label });
  node.value = value || "";
  node.disabled = !enabled;
  return node;
}
