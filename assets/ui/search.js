// Searching past conversations: results grouped by thread (title and date), each hit with its
// question, its answer's title and the summary that carries the answer's number.

import { $ } from "./state.js";
import { el, marked, toastError } from "./dom.js";
import { request } from "./connection.js";
import { openThread } from "./thread.js";

export async function search(event) {
  event.preventDefault();
  const prompt = $("search-input").value.trim();
  if (!prompt) return;
  try {
    const reply = await request("/threads/search", { prompt });
    renderResults(reply.payload, prompt);
  } catch (error) {
    toastError(error);
  }
}

/// Hits grouped by thread, threads in the order of their best hit.
function byThread(results) {
  const groups = new Map();
  for (const result of results) {
    if (!groups.has(result.thread_id)) groups.set(result.thread_id, { title: result.thread_title, hits: [] });
    groups.get(result.thread_id).hits.push(result);
  }
  return [...groups.entries()];
}

function renderResults(results, query) {
  const list = $("results");
  if (!results.length) {
    list.replaceChildren(el("li", { class: "muted" }, "Nothing found."));
  } else {
    list.replaceChildren(...byThread(results).map(([threadId, group]) => {
      const latest = group.hits.map((hit) => hit.created_at).sort().pop();
      const header = el("div", { class: "result-thread-header" },
        el("h3", {}, group.title || "Untitled"),
        el("time", { datetime: latest, class: "muted" }, new Date(latest).toLocaleDateString()));
      const hits = el("ul", { class: "hits" }, ...group.hits.map((hit) => renderHit(threadId, hit, query)));
      return el("li", { class: "result-thread", "data-thread-id": threadId }, header, hits);
    }));
  }
  $("search-results").hidden = false;
}

function renderHit(threadId, hit, query) {
  const li = el("li", { tabindex: "0", "data-message-id": hit.id });
  li.append(el("span", { class: "text" }, ...marked(hit.message, query)));
  if (hit.title) li.append(el("span", { class: "answer-title" }, hit.title));
  const summary = hit.responses && hit.responses.messages && hit.responses.messages[0];
  if (summary) li.append(el("span", { class: "summary" }, ...marked(summary, query)));
  const open = () => openThread(threadId, hit.id);
  li.addEventListener("click", open);
  li.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
  return li;
}
