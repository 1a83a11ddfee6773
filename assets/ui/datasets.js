// Datasets: the question box's picker, the choice of page, and the first screen, which shows each dataset the
// user may query with example questions (the server lists only questions it answers).

import { $, state } from "./state.js";
import { el } from "./dom.js";
import { askQuestion } from "./thread.js";
import { renderDatasetsPage } from "./datasets-page.js";

export function renderDatasets() {
  const picker = $("dataset-picker");
  const chosen = picker.value;
  const auto = el("option", {}, "auto");
  auto.value = ""; // no dataset_id: the analyst picks
  picker.replaceChildren(auto, ...state.datasets.map((d) => el("option", { value: d.id }, d.name)));
  picker.value = chosen;
  renderWelcome(!state.current);
  renderDatasetsPage();
}

/// The first screen (no thread open): datasets and questions to start from.
export function renderWelcome(show) {
  const welcome = $("welcome");
  welcome.hidden = !show;
  if (!show) return;
  const list = $("welcome-datasets");
  if (!state.datasets.length) {
    list.replaceChildren(el("li", { class: "muted" },
      "No datasets yet. Add one with `skein dataset add NAME --csv FILE`."));
    return;
  }
  list.replaceChildren(...state.datasets.map((dataset) => {
    const item = el("li", { class: "welcome-dataset", "data-dataset-id": dataset.id },
      el("h3", {}, dataset.name));
    if (dataset.description) item.append(el("p", { class: "muted" }, dataset.description));
    const examples = dataset.example_questions || [];
    if (examples.length) {
      const chips = el("div", { class: "chips", role: "group", "aria-label": `Questions about ${dataset.name}` });
      for (const question of examples) {
        const chip = el("button", { type: "button", class: "chip" }, question);
        chip.addEventListener("click", () => askQuestion(question, dataset.id));
        chips.append(chip);
      }
      item.append(chips);
    }
    return item;
  }));
}

/// Shows the thread pane or the datasets page.
export function showView(view) {
  state.view = view;
  $("thread-view").hidden = view !== "thread";
  $("datasets-view").hidden = view !== "datasets";
  $("datasets-button").setAttribute("aria-current", view === "datasets" ? "page" : "false");
}
