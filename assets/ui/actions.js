// Skein's web UI: what the user does (open, rename, delete, share, ask, search, sign in).
// Loaded after view.js and before app.js.
"use strict";

// ---- actions -----------------------------------------------------------------------------

function openThread(id, focusMessage = null) {
  if (state.current && state.current !== id && state.connected) {
    request("/threads/unsubscribe", { id: state.current }).catch(() => {});
  }
  state.current = id;
  state.thread = null;
  state.rendered.clear();
  state.rows.clear();
  state.stepsOpen.clear();
  state.editing = null;
  state.focusMessage = focusMessage;
  state.presence.clear();
  renderPresence();
  renderThreadList();
  $("search-results").hidden = true;
  request("/threads/get", { id }).catch((error) => {
    toastError(error);
    closeThread();
  });
}

/// Pages in all of an answer's rows (a thread's state carries a preview), then redraws.
async function loadRows(message, sql) {
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
async function loadSteps(message) {
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

function startRename() {
  if (!state.thread) return;
  $("rename-input").value = state.thread.title;
  $("thread-title").hidden = true;
  $("thread-actions").hidden = true;
  $("rename-form").hidden = false;
  $("rename-input").focus();
  $("rename-input").select();
}

function endRename() {
  $("rename-form").hidden = true;
  $("thread-title").hidden = false;
  $("thread-actions").hidden = !state.thread;
}

async function rename(event) {
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

function confirmDelete() {
  const dialog = $("delete-dialog");
  dialog.returnValue = "";
  dialog.showModal();
}

async function deleteCurrent() {
  if ($("delete-dialog").returnValue !== "delete" || !state.current) return;
  try {
    await request("/threads/delete", { id: [state.current] });
    closeThread("Thread deleted.");
  } catch (error) {
    toastError(error);
  }
}

async function shareCurrent() {
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

function closeThread(reason) {
  if (reason) toast(reason);
  state.current = null;
  state.thread = null;
  state.editing = null;
  endRename();
  state.presence.clear();
  renderPresence();
  renderThread();
  renderThreadList();
}

async function ask(event) {
  event.preventDefault();
  const prompt = $("prompt").value.trim();
  if (!prompt) return;
  const data = { prompt, thread_id: state.current, dataset_id: $("dataset-picker").value || null };
  try {
    const reply = await request("/threads/post", data);
    $("prompt").value = "";
    if (!state.current) {
      state.current = reply.payload.id;
      applyThreadState(reply.payload);
      renderThreadList();
    }
  } catch (error) {
    toastError(error);
  }
}

async function search(event) {
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

/// `text` as nodes with the query's words marked.
function marked(text, query) {
  const words = query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 3);
  if (!words.length) return [text];
  const pattern = new RegExp(`(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "giu");
  return text.split(pattern).map((part, i) => (i % 2 ? el("mark", {}, part) : part));
}

function renderResults(results, query = "") {
  const list = $("results");
  if (!results.length) {
    list.replaceChildren(el("li", { class: "muted" }, "Nothing found."));
  } else {
    list.replaceChildren(...results.map((result) => {
      const li = el("li", { tabindex: "0", "data-message-id": result.id });
      li.append(el("span", { class: "thread" }, result.thread_title || ""));
      li.append(el("span", { class: "text" }, ...marked(result.message, query)));
      const summary = result.responses && result.responses.messages && result.responses.messages[0];
      if (summary) li.append(el("span", { class: "muted" }, ...marked(summary, query)));
      const open = () => openThread(result.thread_id, result.id);
      li.addEventListener("click", open);
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
      return li;
    }));
  }
  $("search-results").hidden = false;
}

function showSignin(error = "") {
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close();
  }
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = error;
  $("token-input").focus();
}

function signIn(token) {
  state.token = token;
  localStorage.setItem(TOKEN_KEY, token);
  $("signin").hidden = true;
  $("app").hidden = false;
  state.everConnected = false;
  connect();
}
