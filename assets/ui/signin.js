// Signing in with a token (typed, or from the login link) and out.

import { $, TOKEN_KEY, state } from "./state.js";
import { connect } from "./connection.js";

export function showSignin(error = "") {
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close();
  }
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = error;
  $("token-input").focus();
}

export function signIn(token) {
  state.token = token;
  localStorage.setItem(TOKEN_KEY, token);
  $("signin").hidden = true;
  $("app").hidden = false;
  state.everConnected = false;
  connect();
}

export function signOut() {
  localStorage.removeItem(TOKEN_KEY);
  showSignin();
}

/// The token of a login link (taken out of the address bar), or the one kept from before.
export function startingToken() {
  const url = new URL(location.href);
  const fromLink = url.searchParams.get("token");
  if (fromLink) {
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return fromLink || localStorage.getItem(TOKEN_KEY);
}
