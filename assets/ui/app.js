// Skein's web UI. Plain JavaScript, no build step; it speaks only the public WebSocket protocol.
//
// Three classic scripts share one global scope, loaded in this order by index.html:
// view.js (rendering: sidebar, thread, answer: steps, chart, table, SQL; helpers),
// actions.js (what the user does), and this file: constants and state → connection →
// event handling → start-up.
"use strict";

const STEPS = [
  ["identifyingDataset", "Dataset"],
  ["identifyingTerms", "Terms"],
  ["generatingSql", "SQL"],
  ["fixingSql", "Fixing SQL"],
  ["fetchingData", "Data"],
  ["generatingDataExplanation", "Explanation"],
  ["generatingTimeFrame", "Time frame"],
  ["generatingMetricTitle", "Title"],
  ["generatingDataSummary", "Summary"],
];
const STEP_NAMES = new Set(STEPS.map(([name]) => name));
const TOKEN_KEY = "skein.token";
const PAGE_SIZE = 50;

const $ = (id) => document.getElementById(id);

// ---- state -------------------------------------------------------------------------------

const state = {
  token: null,
  me: null,
  socket: null,
  nextRequest: 1,
  pending: new Map(), // request_id → {resolve, reject}
  connected: false,
  everConnected: false,
  backoff: 1000,
  threads: new Map(), // id → list item
  pages: { loaded: 0, more: true, loading: false, requests: new Set() }, // sidebar paging
  current: null, // id of the open thread
  thread: null, // its state
  streams: new Map(), // message id → {steps: Map(name → {progress, text, payload, error})}
  presence: new Map(), // user id → name
  datasets: [],
  focusMessage: null,
  editing: null, // {messageId, text} while SQL is being edited
  rendered: new Map(), // message id → {key, node}: messages are re-rendered only when they change
  rows: new Map(), // message id → {sql, rows}: an answer's rows in full (states carry a preview)
  rowsLoading: new Set(), // message ids whose rows are being paged in
  stepsOpen: new Set(), // message ids whose "how this was computed" is open
  stepsLoading: new Set(), // message ids whose steps are being fetched (states leave them out)
};

// ---- connection --------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  setStatus("Connecting…", "");
  socket.onopen = () => {
    state.connected = true;
    state.everConnected = true;
    state.backoff = 1000;
    setStatus("Online", "online");
    resubscribe();
  };
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = async (event) => {
    const wasConnected = state.connected;
    state.connected = false;
    for (const { reject } of state.pending.values()) reject(new Error("the connection was lost"));
    state.pending.clear();
    if (!wasConnected && !state.everConnected && (await tokenRejected())) {
      showSignin("That token is not valid. Paste a valid one.");
      return;
    }
    const seconds = Math.round(state.backoff / 1000);
    setStatus(`Offline — reconnecting in ${seconds} s`, "offline");
    setTimeout(connect, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 15000);
  };
}

/// Whether the server refuses the token (HTTP 401 on the upgrade endpoint).
async function tokenRejected() {
  try {
    const response = await fetch(`/ws?token=${encodeURIComponent(state.token)}`);
    return response.status === 401;
  } catch {
    return false;
  }
}

function setStatus(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.className = `status ${kind}`;
}

/// Sends a request; resolves with its reply, rejects with the server's error message.
/// `sent`, if given, learns the request id before any reply can arrive.
function request(route, data, sent = () => {}) {
  return new Promise((resolve, reject) => {
    if (!state.connected) {
      reject(new Error("offline: the request was not sent"));
      return;
    }
    const id = `ui${state.nextRequest++}`;
    state.pending.set(id, { resolve, reject });
    sent(id);
    state.socket.send(JSON.stringify({ route, data, request_id: id }));
  });
}

/// After (re)connecting: who am I, datasets, the list, and the open thread again.
function resubscribe() {
  request("/users/me", {}).then((reply) => {
    state.me = reply.payload;
    $("me").textContent = `${state.me.name} · ${state.me.org.name ?? ""}`;
  }).catch(toastError);
  request("/datasets/list", {}).then((reply) => {
    state.datasets = reply.payload;
    renderDatasets();
  }).catch(toastError);
  state.pages = { loaded: 0, more: true, loading: false, requests: new Set() };
  loadPage(0);
  if (state.current) openThread(state.current, state.focusMessage);
}

// ---- events ------------------------------------------------------------------------------

function handle(message) {
  const pending = message.request_id != null && state.pending.get(message.request_id);
  if (pending) {
    state.pending.delete(message.request_id);
    if (message.error) pending.reject(new Error(message.error.message));
    else pending.resolve(message);
    // Replies carry state too: fall through so it is applied like any event.
  } else if (message.error && !STEP_NAMES.has(message.event)) {
    toast(message.error.message, true);
  }
  if (message.error && !STEP_NAMES.has(message.event)) return;

  switch (message.event) {
    case "getThreadsList":
      // The first page replaces the list; later pages (scrolling) add to it.
      if (!state.pages.requests.has(message.request_id)) state.threads.clear();
      state.pages.requests.delete(message.request_id);
      for (const item of message.payload) state.threads.set(item.id, item);
      renderThreadList();
      break;
    case "updateThreadsList":
      for (const item of message.payload) state.threads.set(item.id, item);
      renderThreadList();
      break;
    case "deleteThreadState":
      for (const id of message.payload) {
        state.threads.delete(id);
        if (id === state.current) closeThread("This thread was deleted.");
      }
      renderThreadList();
      break;
    case "getThreadState":
    case "updateThreadState":
      applyThreadState(message.payload[0]);
      break;
    case "initializeThread":
      applyThreadState(message.payload);
      break;
    case "joinedThread":
      for (const person of [].concat(message.payload)) state.presence.set(person.id, person.name);
      renderPresence();
      break;
    case "leftThread":
      for (const person of [].concat(message.payload)) state.presence.delete(person.id);
      renderPresence();
      break;
    default:
      // Steps of an analysis run; an edited query's repairs come back as the update's reply.
      if (STEP_NAMES.has(message.event) && message.route === "/threads/post") applyStep(message);
  }
}

function applyThreadState(thread) {
  if (!thread || thread.id !== state.current) return;
  // An update leaves out (context: null) the steps of messages it did not change: keep those
  // from the state before.
  const before = new Map(((state.thread && state.thread.id === thread.id && state.thread.messages) || [])
    .map((message) => [message.id, message]));
  for (const message of thread.messages) {
    const previous = before.get(message.id);
    if (message.context == null && previous && previous.context != null) message.context = previous.context;
  }
  state.thread = thread;
  // A message whose steps are persisted no longer needs its live stream.
  for (const msg of thread.messages) {
    if (msg.context && msg.context.steps) state.streams.delete(msg.id);
  }
  renderThread();
}

function applyStep(event) {
  const payload = event.payload || {};
  const messageId = payload.message_id;
  if (!messageId || payload.thread_id !== state.current) return;
  let stream = state.streams.get(messageId);
  if (!stream) {
    stream = { steps: new Map() };
    state.streams.set(messageId, stream);
  }
  const step = stream.steps.get(event.event) || { text: "", payload: {} };
  step.progress = payload.progress;
  const chunkKey = Object.keys(payload).find((key) => key.endsWith("_chunk"));
  if (chunkKey && typeof payload[chunkKey] === "string") step.text += payload[chunkKey];
  if (payload.progress !== "inProgress") step.payload = payload;
  // The live stream carries every row; keep them for when the state (a preview) replaces it.
  if (event.event === "fetchingData" && Array.isArray(payload.data)) {
    state.rows.set(messageId, { sql: sqlOf(null, stream.steps), rows: payload.data });
  }
  if (event.error) step.error = event.error.message;
  stream.steps.set(event.event, step);
  renderThread();
}

// ---- start-up ----------------------------------------------------------------------------

function start() {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (token) signIn(token);
  });
  $("signout").addEventListener("click", () => {
    localStorage.removeItem(TOKEN_KEY);
    showSignin();
  });
  $("composer").addEventListener("submit", ask);
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) ask(event);
  });
  $("new-thread").addEventListener("click", () => {
    closeThread();
    $("prompt").focus();
  });
  $("search-form").addEventListener("submit", search);
  $("sidebar").addEventListener("scroll", maybeLoadMore);
  $("rename").addEventListener("click", startRename);
  $("rename-form").addEventListener("submit", rename);
  $("rename-cancel").addEventListener("click", endRename);
  $("rename-input").addEventListener("keydown", (event) => { if (event.key === "Escape") endRename(); });
  $("delete").addEventListener("click", confirmDelete);
  $("delete-dialog").addEventListener("close", deleteCurrent);
  $("share").addEventListener("click", () => {
    $("share-dialog").returnValue = "";
    $("share-dialog").showModal();
  });
  $("share-dialog").addEventListener("close", shareCurrent);
  $("close-search").addEventListener("click", () => { $("search-results").hidden = true; });

  // A login link carries the token once; keep it, and take it out of the address bar.
  const url = new URL(location.href);
  const fromLink = url.searchParams.get("token");
  if (fromLink) {
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  const token = fromLink || localStorage.getItem(TOKEN_KEY);
  if (token) signIn(token);
  else showSignin();
}

start();
