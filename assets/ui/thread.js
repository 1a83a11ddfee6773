// The open thread: opening and closing it, drawing its messages (only those that changed),
// keeping a new question in view while it is answered, and what the user does to a thread.

import { $, state } from "./state.js";
import { toast, toastError } from "./dom.js";
import { applyThreadState, request } from "./connection.js";
import { renderPresence, renderThreadList } from "./sidebar.js";
import { renderMessage } from "./answer.js";
import { finalizeCharts } from "./charts.js";
import { renderWelcome, showView } from "./datasets.js";

export function openThread(id, focusMessage = null) {
  if (state.current && state.current !== id && state.connected) {
    request("/threads/unsubscribe", { id: state.current }).catch(() => {});
  }
  state.current = id;
  state.thread = null;
  state.rendered.clear();
  state.rows.clear();
  state.stepsOpen.clear();
  state.editing = null;
  state.following = null;
  state.focusMessage = focusMessage;
  state.presence.clear();
  renderPresence();
  renderThreadList();
  showView("thread");
  $("search-results").hidden = true;
  request("/threads/get", { id }).catch((error) => {
    toastError(error);
    closeThread();
  });
}

export function closeThread(reason) {
  if (reason) toast(reason);
  state.current = null;
  state.thread = null;
  state.editing = null;
  state.following = null;
  endRename();
  state.presence.clear();
  renderPresence();
  renderThread();
  renderThreadList();
}

export function renderThread() {
  const thread = state.thread;
  $("thread-title").textContent = thread ? thread.title : "New question";
  $("thread-actions").hidden = !thread;
  const container = $("messages");
  renderWelcome(!thread && !state.current);
  if (!thread) {
    state.rendered.clear();
    finalizeCharts(container);
    container.replaceChildren();
    return;
  }
  // Rebuild only messages that changed, and patch the DOM in place, so that an open SQL editor
  // keeps its text and focus while other messages update.
  const nodes = thread.messages.map((message) => {
    const stream = state.streams.get(message.id);
    const key = JSON.stringify(message) + JSON.stringify(stream ? [...stream.steps] : null)
      + (state.editing && state.editing.messageId === message.id ? "editing" : "")
      + (state.rows.has(message.id) ? state.rows.get(message.id).sql : "")
      + state.steps.length;
    const previous = state.rendered.get(message.id);
    if (previous && previous.key === key) return previous.node;
    const node = renderMessage(message);
    if (previous) finalizeCharts(previous.node);
    state.rendered.set(message.id, { key, node });
    return node;
  });
  nodes.forEach((node, i) => {
    if (container.children[i] !== node) container.insertBefore(node, container.children[i] || null);
  });
  while (container.children.length > nodes.length) {
    finalizeCharts(container.lastElementChild);
    container.lastElementChild.remove();
  }
  if (state.focusMessage) {
    const target = document.getElementById(`msg-${state.focusMessage}`);
    if (target) {
      target.classList.add("highlight");
      target.scrollIntoView({ block: "center" });
      state.focusMessage = null;
    }
  }
  follow();
}

/// Keeps the question just asked in view while its answer streams in: its top first, then
/// as much of the answer as fits. Stops once the user scrolls, or the answer is done.
function follow() {
  if (!state.following) return;
  const node = document.getElementById(`msg-${state.following}`);
  if (!node) return;
  const main = $("main");
  const box = node.getBoundingClientRect();
  const top = box.top - main.getBoundingClientRect().top + main.scrollTop;
  const visible = main.clientHeight - $("composer").offsetHeight;
  // As far down as shows the answer's end, but never past the question's top.
  const wanted = Math.max(0, Math.min(top - 8, Math.max(main.scrollTop, top + box.height - visible + 8)));
  if (Math.abs(main.scrollTop - wanted) > 1) main.scrollTop = wanted;
  const message = state.thread.messages.find((m) => m.id === state.following);
  if (message && message.responses != null && !state.streams.has(message.id)) state.following = null;
}

/// The user scrolled the thread themselves: stop following the answer.
export function stopFollowing() {
  state.following = null;
}

export async function ask(event) {
  event.preventDefault();
  const prompt = $("prompt").value.trim();
  if (!prompt) return;
  if (await askQuestion(prompt, $("dataset-picker").value || null)) $("prompt").value = "";
}

/// Posts a question to the open thread (or a new one); true once the server took it.
export async function askQuestion(prompt, datasetId = null) {
  const data = { prompt, thread_id: state.current, dataset_id: datasetId };
  try {
    const reply = await request("/threads/post", data);
    const thread = reply.payload;
    const asked = thread.messages[thread.messages.length - 1];
    state.following = asked ? asked.id : null;
    if (!state.current) {
      state.current = thread.id;
      showView("thread");
      applyThreadState(thread);
      renderThreadList();
    } else {
      renderThread();
    }
    return true;
  } catch (error) {
    toastError(error);
    return false;
  }
}

/// Pages in all of an answer's rows (a thread's state carries a preview), then redraws.
export async function loadRows(message, sql) {
  if (state.rowsLoading.has(message.id)) return;
  state.rowsLoading.add(message.id);
  try {
    const rows = [];
    for (;;) {
      const reply = await request("/threads/data", { message_id: message.id, offset: rows.length, limit: 1000 });
      rows.push(...reply.payload.rows);
      if (!reply.payload.rows.length || rows.length >= reply.payload.total) break;
    }
    state.rows.set(message.id, { sql, rows });
    renderThread();
  } catch (error) {
    toastError(error);
  } finally {
    state.rowsLoading.delete(message.id);
  }
}

/// Fetches the steps a thread state leaves out of a finished answer, then redraws.
export async function loadSteps(message) {
  if (state.stepsLoading.has(message.id)) return;
  state.stepsLoading.add(message.id);
  try {
    const reply = await request("/threads/message", { message_id: message.id });
    const current = state.thread && state.thread.messages.find((m) => m.id === message.id);
    if (current) current.context = reply.payload.context;
    renderThread();
  } catch (error) {
    toastError(error);
  } finally {
    state.stepsLoading.delete(message.id);
  }
}

/// Sends a change of one message; the new state arrives as updateThreadState. Returns success.
export async function updateMessage(message, change) {
  try {
    await request("/threads/update", { id: message.thread_id, message_id: message.id, ...change });
    return true;
  } catch (error) {
    toastError(error);
    return false;
  }
}

export function startRename() {
  if (!state.thread) return;
  $("rename-input").value = state.thread.title;
  $("thread-title").hidden = true;
  $("thread-actions").hidden = true;
  $("rename-form").hidden = false;
  $("rename-input").focus();
  $("rename-input").select();
}

export function endRename() {
  $("rename-form").hidden = true;
  $("thread-title").hidden = false;
  $("thread-actions").hidden = !state.thread;
}

export async function rename(event) {
  event.preventDefault();
  const title = $("rename-input").value.trim();
  if (!title || !state.current) return;
  try {
    await request("/threads/update", { id: state.current, title });
    endRename();
  } catch (error) {
    toastError(error);
  }
}

export function confirmDelete() {
  const dialog = $("delete-dialog");
  dialog.returnValue = "";
  dialog.showModal();
}

export async function deleteCurrent() {
  if ($("delete-dialog").returnValue !== "delete" || !state.current) return;
  try {
    await request("/threads/delete", { id: [state.current] });
    closeThread("Thread deleted.");
  } catch (error) {
    toastError(error);
  }
}

export async function shareCurrent() {
  if ($("share-dialog").returnValue !== "share" || !state.current) return;
  const email = $("share-email").value.trim();
  const role = $("share-role").value;
  try {
    await request("/threads/update", { id: state.current, share: [{ email, role }] });
    toast(role === "none" ? `${email} no longer has access.` : `Shared with ${email} as ${role}.`);
  } catch (error) {
    toastError(error);
  }
}
