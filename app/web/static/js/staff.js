// The staff login of the consoles (proctor, committee, key correction): a staff token of the
// page's role kept in sessionStorage (this tab only), refused for other roles.

import { $, $$, ApiError, NetworkError, api, errorText, showError, showView, t } from "./common.js";

/** The committee session of the committee console and the key-correction page. */
export function committeeSession(views, onReady) {
  return staffSession(views, onReady, {
    role: "committee",
    tokenKey: "ujian.committee.token",
    wrongRole: "committee.not_committee",
  });
}

/**
 * The staff session of a page. `views` are the page's views (with `login`); `onReady` runs once
 * a token of `role` is at hand (at once when the tab already has one). `wrongRole` is the
 * message key for another role's login; `beforeLogin` runs before the login view is shown,
 * `afterLogout` after the token is dropped.
 */
export function staffSession(
  views,
  onReady,
  { role, tokenKey, wrongRole, beforeLogin = () => {}, afterLogout = () => {} },
) {
  let token = sessionStorage.getItem(tokenKey);

  function showLogin(message = null) {
    beforeLogin();
    showView(views, "login", { focus: false });
    showError($("#staff-login-error"), message);
    $("#staff-username").focus();
  }

  function logout(message = null) {
    const old = token;
    token = null;
    sessionStorage.removeItem(tokenKey);
    if (old && !message) api("DELETE", "/api/v1/auth/token", { token: old }).catch(() => {});
    afterLogout();
    showLogin(message);
  }

  /** Call the API with the token; a 401 sends the page back to the login. */
  async function call(method, path, body) {
    try {
      return await api(method, path, { token, body });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) logout(t("proctor.expired"));
      throw error;
    }
  }

  /** Fetch a text document (the item report) with the token. */
  async function text(path, { timeoutMs = 60000 } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response;
    try {
      response = await fetch(path, {
        headers: { Authorization: `Bearer ${token}`, Accept: "text/html" },
        cache: "no-store",
        credentials: "same-origin",
        signal: controller.signal,
      });
    } catch (error) {
      throw new NetworkError(error.message);
    } finally {
      clearTimeout(timer);
    }
    if (response.ok) return response.text();
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not an error envelope
    }
    const error = new ApiError(response.status, body);
    if (response.status === 401) logout(t("proctor.expired"));
    throw error;
  }

  $("#staff-login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = $("#staff-username").value.trim();
    const password = $("#staff-password").value;
    const errorNode = $("#staff-login-error");
    if (!username || !password) {
      showError(errorNode, t("proctor.missing"));
      return;
    }
    const button = event.submitter;
    if (button) button.disabled = true;
    try {
      const login = await api("POST", "/api/v1/auth/token", { body: { username, password } });
      if (login.role !== role) {
        api("DELETE", "/api/v1/auth/token", { token: login.access_token }).catch(() => {});
        showError(errorNode, t(wrongRole));
        return;
      }
      token = login.access_token;
      sessionStorage.setItem(tokenKey, token);
      $("#staff-password").value = "";
      showError(errorNode, null);
      onReady();
    } catch (error) {
      showError(errorNode, errorText(error, "proctor.login_error"));
    } finally {
      if (button) button.disabled = false;
    }
  });

  for (const button of $$("[data-action=logout]")) button.addEventListener("click", () => logout());

  return {
    get token() {
      return token;
    },
    call,
    text,
    logout,
    showLogin,
    start() {
      if (token) onReady();
      else showLogin();
    },
  };
}
