// The sidebar: the thread list (paged in as it scrolls) and who else is in the open thread.

import { $, PAGE_SIZE, state } from "./state.js";
import { el, toastError } from "./dom.js";
import { request } from "./connection.js";
import { openThread } from "./thread.js";

export function renderThreadList() {
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
export function loadPage(page) {
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
export function maybeLoadMore() {
  const sidebar = $("sidebar");
  const nearBottom = sidebar.scrollTop + sidebar.clientHeight >= sidebar.scrollHeight - 80;
  if (nearBottom && state.pages.more && !state.pages.loading && state.connected) loadPage(state.pages.loaded);
}

function statusLabel(status) {
  return { verified: "Verified", notVerified: "Not verified", rejected: "Rejected" }[status] || status;
}

export function renderPresence() {
  const others = [...state.presence.entries()].filter(([id]) => !state.me || id !== state.me.id);
  $("presence").textContent = others.length
    ? `Also here: ${others.map(([, name]) => name).join(", ")}`
    : "";
}
