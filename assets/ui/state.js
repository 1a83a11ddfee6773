// The page's state, shared by every module, and the constants they read.

export const TOKEN_KEY = "skein.token";
export const PAGE_SIZE = 50;

export const $ = (id) => document.getElementById(id);

export const state = {
  token: null,
  me: null,
  socket: null,
  nextRequest: 1,
  pending: new Map(), // request_id → {resolve, reject}
  connected: false,
  everConnected: false,
  backoff: 1000,
  steps: [], // [{name, label, field}]: the analyst's steps in order, from /analyst/steps
  threads: new Map(), // id → list item
  pages: { loaded: 0, more: true, loading: false, requests: new Set() }, // sidebar paging
  current: null, // id of the open thread
  thread: null, // its state
  streams: new Map(), // message id → {steps: Map(name → {progress, text, payload, error})}
  presence: new Map(), // user id → name
  datasets: [],
  focusMessage: null, // a message to scroll to and mark once shown (from a search hit)
  following: null, // the message just asked: kept in view while it streams
  editing: null, // {messageId, text} while SQL is being edited
  rendered: new Map(), // message id → {key, node}: messages are re-rendered only when they change
  rows: new Map(), // message id → {sql, rows}: an answer's rows in full (states carry a preview)
  rowsLoading: new Set(), // message ids whose rows are being paged in
  stepsOpen: new Set(), // message ids whose "how this was computed" is open
  stepsLoading: new Set(), // message ids whose steps are being fetched (states leave them out)
  view: "thread", // "thread" or "datasets": what the main pane shows
};
