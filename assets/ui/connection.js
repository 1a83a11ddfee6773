// The WebSocket connection: connecting with back-off, requests and their replies, and
// applying what the server sends (lists, thread states, steps, presence).

import { $, state } from "./state.js";
import { toast, toastError } from "./dom.js";
import { loadPage, renderPresence, renderThreadList } from "./sidebar.js";
import { closeThread, openThread, renderThread } from "./thread.js";
import { renderDatasets } from "./datasets.js";
import { renderDatasetsPage } from "./datasets-page.js";
import { showSignin } from "./signin.js";
import { sqlOf } from "./answer.js";

export function connect() {
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
  socket.onclose = async () => {
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

/// Sends a request; resolves with its reply, rejects with the server's error (its `code` kept).
/// `sent`, if given, learns the request id before any reply can arrive.
export function request(route, data, sent = () => {}) {
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

/// After (re)connecting: the analyst's steps, who am I, datasets, the list, the open thread.
function resubscribe() {
  request("/analyst/steps", {}).then((reply) => {
    state.steps = reply.payload;
    renderThread();
  }).catch(toastError);
  request("/users/me", {}).then((reply) => {
    state.me = reply.payload;
    $("me").textContent = `${state.me.name} · ${state.me.org.name ?? ""}`;
    renderDatasetsPage(); // admins get its controls
  }).catch(toastError);
  loadDatasets();
  state.pages = { loaded: 0, more: true, loading: false, requests: new Set() };
  loadPage(0);
  if (state.current) openThread(state.current, state.focusMessage);
}

export function loadDatasets() {
  return request("/datasets/list", {}).then((reply) => {
    state.datasets = reply.payload;
    renderDatasets();
  }).catch(toastError);
}

/// Events other than an analysis step's (steps also come under `/threads/update`, when an
/// edited query is repaired).
const NOT_STEPS = new Set(["getThreadsList", "updateThreadsList", "deleteThreadState", "getThreadState",
  "updateThreadState", "initializeThread", "joinedThread", "leftThread", "updateDatasetsList"]);

/// Whether a server message is one update of an analysis step.
function isStep(message) {
  return !NOT_STEPS.has(message.event) && message.payload != null && typeof message.payload.message_id === "string";
}

function handle(message) {
  const step = isStep(message);
  const pending = message.request_id != null && state.pending.get(message.request_id);
  if (pending) {
    state.pending.delete(message.request_id);
    if (message.error) {
      const error = new Error(message.error.message);
      error.code = message.error.code;
      pending.reject(error);
    } else {
      pending.resolve(message);
    }
    // Replies carry state too: fall through so it is applied like any event.
  } else if (message.error && !step) {
    toast(message.error.message, true);
  }
  if (message.error && !step) return;

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
    case "updateDatasetsList":
      // An admin changed the org's datasets.
      state.datasets = message.payload;
      renderDatasets();
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
      // An edited query's repairs come back as the update's reply: only runs stream live.
      if (step && message.route === "/threads/post") applyStep(message);
  }
}

export function applyThreadState(thread) {
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
  const payload = event.payload;
  const messageId = payload.message_id;
  if (payload.thread_id !== state.current) return;
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
