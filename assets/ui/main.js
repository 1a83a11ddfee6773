// Skein's web UI, as native ES modules with no build step; it speaks only the public WebSocket
// protocol. Modules by concern:
//   state.js       the shared state and constants
//   connection.js  the socket: requests, replies, applying server events
//   signin.js      token sign-in and sign-out
//   sidebar.js     the thread list and presence
//   thread.js      the open thread and what the user does to it
//   answer.js      one message: steps, what was computed, words, refusal, actions
//   charts.js      charts (Vega-Lite via the embedded vega-embed), table.js rows and SQL
//   search.js      search results
//   datasets.js    the dataset picker, the first screen, which page shows
//   datasets-page.js  the Datasets page: list, detail, upload, notes, replace, remove
//   dom.js         element, icon, toast and formatting helpers
// This file wires the page's controls to them and starts.

import { $ } from "./state.js";
import { maybeLoadMore } from "./sidebar.js";
import {
  ask, closeThread, confirmDelete, deleteCurrent, endRename, rename, shareCurrent, startRename, stopFollowing,
} from "./thread.js";
import { search } from "./search.js";
import { openDatasetsPage } from "./datasets-page.js";
import { showSignin, signIn, signOut, startingToken } from "./signin.js";
import { showView } from "./datasets.js";

function start() {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (token) signIn(token);
  });
  $("signout").addEventListener("click", signOut);
  $("composer").addEventListener("submit", ask);
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) ask(event);
  });
  $("new-thread").addEventListener("click", () => {
    closeThread();
    showView("thread");
    $("prompt").focus();
  });
  $("datasets-button").addEventListener("click", openDatasetsPage);
  $("search-form").addEventListener("submit", search);
  $("sidebar").addEventListener("scroll", maybeLoadMore);
  // The user scrolling the thread takes over from following a streaming answer.
  for (const kind of ["wheel", "touchmove"]) $("main").addEventListener(kind, stopFollowing, { passive: true });
  $("main").addEventListener("keydown", (event) => {
    if (["PageUp", "PageDown", "ArrowUp", "ArrowDown", "Home", "End"].includes(event.key)) stopFollowing();
  });
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

  const token = startingToken();
  if (token) signIn(token);
  else showSignin();
}

start();
