/**
 * Gatehouse browser SDK: OpenID Connect sign-in for single-page apps, across tenants.
 *
 * A dependency-free ES module. Authorization code flow with PKCE S256 (RFC 7636),
 * `state` and `nonce` checked, the authorization response's `iss` checked (RFC 9207),
 * refresh-token rotation with one refresh in flight per tenant, organization and
 * tenant switching, RP-initiated logout. One refresh token per tenant, kept apart, and
 * one access token per API (RFC 8707 `resource`), each refreshed on its own.
 * Tokens live in memory unless a storage adapter is passed. API: static/sdk/README.md.
 *
 *   import { createGatehouse } from "/static/sdk/gatehouse.js";
 *   const auth = createGatehouse({
 *     tenants: { "acme-corp": { issuer: "https://acme-corp.auth.example", clientId: "cli_..." } },
 *     redirectUri: location.origin + "/callback",
 *   });
 *   await auth.handleRedirect();
 *   if (!auth.isAuthenticated) await auth.login({ tenant: "acme-corp" });
 *   const token = await auth.getAccessToken();
 */

const TX_PREFIX = "gatehouse.tx.";
const TX_MAX_AGE_MS = 10 * 60 * 1000;
const DEFAULT_SCOPE = "openid profile email";

/** An OAuth/OIDC error: `code` is the RFC 6749 error code or an SDK code. */
export class GatehouseError extends Error {
  constructor(code, description, details = {}) {
    super(description ? `${code}: ${description}` : code);
    this.name = "GatehouseError";
    this.code = code;
    this.description = description || "";
    Object.assign(this, details);
  }
}

/** Keeps values in this page's memory only (the default for tokens). */
export function memoryStorage() {
  const values = new Map();
  return {
    get: (key) => (values.has(key) ? values.get(key) : null),
    set: (key, value) => void values.set(key, value),
    remove: (key) => void values.delete(key),
  };
}

/** Adapts a Web Storage object (e.g. `sessionStorage`) to the storage interface. */
export function webStorage(store = globalThis.sessionStorage, prefix = "gatehouse.") {
  return {
    get: (key) => store.getItem(prefix + key),
    set: (key, value) => store.setItem(prefix + key, value),
    remove: (key) => store.removeItem(prefix + key),
  };
}

// --- small helpers ----------------------------------------------------------------------

function base64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(nbytes = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(nbytes)));
}

async function pkceChallenge(verifier) {
  // RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))).
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(hash));
}

/** The payload of a JWT, unverified (the SDK compares claims; the server verifies). */
export function decodeJwt(token) {
  const part = typeof token === "string" ? token.split(".")[1] : null;
  if (!part) throw new GatehouseError("invalid_token", "not a JWT");
  const padded = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  const claims = JSON.parse(new TextDecoder().decode(bytes));
  if (!claims || typeof claims !== "object") throw new GatehouseError("invalid_token", "bad payload");
  return claims;
}

const now = () => Math.floor(Date.now() / 1000);
const trimSlash = (url) => url.replace(/\/+$/, "");

function normalizeTenants(options) {
  const tenants = {};
  const add = (key, value) => {
    const config = typeof value === "string" ? { issuer: value } : { ...value };
    if (!config.issuer) throw new GatehouseError("invalid_config", `tenant ${key} has no issuer`);
    config.issuer = trimSlash(config.issuer);
    config.clientId = config.clientId || options.clientId;
    if (!config.clientId) throw new GatehouseError("invalid_config", `tenant ${key} has no clientId`);
    tenants[key] = config;
  };
  for (const [key, value] of Object.entries(options.tenants || {})) add(key, value);
  const issuers = [].concat(options.issuers || [], options.issuer || []);
  for (const issuer of issuers) add(trimSlash(issuer), issuer);
  if (!Object.keys(tenants).length) throw new GatehouseError("invalid_config", "no tenant configured");
  return tenants;
}

// --- the client -------------------------------------------------------------------------

class Gatehouse {
  constructor(options) {
    if (!options || !options.redirectUri) throw new GatehouseError("invalid_config", "redirectUri is required");
    this.options = options;
    this.config = normalizeTenants(options);
    this.redirectUri = options.redirectUri;
    this.postLogoutRedirectUri = options.postLogoutRedirectUri || options.redirectUri;
    this.scope = options.scope || DEFAULT_SCOPE;
    // RFC 8707: the APIs (resource identifiers) sign-in asks access to; a token for one
    // of them comes from getAccessToken({ resource }).
    this.resources = [].concat(options.resources || []);
    this.refreshSkew = options.refreshSkew ?? 60;
    this.storage = options.storage || memoryStorage();
    this.transactions = options.transactionStorage || safeSessionStorage();
    this._fetch = options.fetch || ((...args) => globalThis.fetch(...args));
    this._navigate = options.navigate || ((url) => globalThis.location.assign(url));
    this._sessions = {}; // tenant key -> {accessToken, expiresAt, refreshToken, idToken, ...}
    this._aliases = {}; // tenant_id -> tenant key, learned from tokens
    this._active = null;
    this._metadata = {}; // tenant key -> Promise<discovery document>
    this._inflight = {}; // tenant key -> { purpose, promise } of the refresh in flight
    this._listeners = new Set();
    this._snapshot = null;
    this.ready = this._restore();
  }

  // --- state: getters, change events ---

  /** The active tenant's key (as configured), or null. */
  get tenant() { return this._active; }
  /** Keys of the tenants this page holds a session for. */
  get tenants() { return Object.keys(this._sessions); }
  get isAuthenticated() { return Boolean(this._session()); }
  /** The signed-in user of the active tenant: the ID token's claims (or null). */
  get user() { return this._session()?.user || null; }
  /** The active tenant's access-token claims: tenant_id, org_id, roles, scope, ... */
  get claims() {
    const session = this._session();
    return session ? decodeJwt(session.accessToken) : null;
  }

  /** Calls `listener()` after every change of tokens or active tenant; returns unsubscribe. */
  subscribe(listener) {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /** An immutable view that changes identity on every change (for React). */
  getSnapshot() {
    if (!this._snapshot) {
      this._snapshot = Object.freeze({
        isAuthenticated: this.isAuthenticated,
        tenant: this.tenant,
        tenants: this.tenants,
        user: this.user,
        claims: this.claims,
      });
    }
    return this._snapshot;
  }

  _changed() {
    this._snapshot = null;
    for (const listener of [...this._listeners]) {
      try { listener(); } catch (error) { console.error(error); }
    }
  }

  _session(key = this._active) {
    return key && Object.hasOwn(this._sessions, key) ? this._sessions[key] : null;
  }

  /**
   * The configured key of a tenant given by its key, its issuer URL or its tenant id
   * (`ten_...`: from the config's `tenantId`, or learned from a token of that tenant).
   */
  resolveTenant(ref) {
    if (ref == null) {
      const key = this._active || Object.keys(this.config)[0];
      return key;
    }
    if (Object.hasOwn(this.config, ref)) return ref;
    const alias = Object.hasOwn(this._aliases, ref) ? this._aliases[ref] : null;
    if (alias && Object.hasOwn(this.config, alias)) return alias;
    const issuer = trimSlash(String(ref));
    const match = Object.keys(this.config).find(
      (key) => this.config[key].issuer === issuer || this.config[key].tenantId === ref,
    );
    if (match) return match;
    throw new GatehouseError("unknown_tenant", `no tenant ${ref} is configured`);
  }

  // --- persistence through the storage adapter ---

  async _restore() {
    const raw = await this.storage.get("state");
    if (!raw) return;
    try {
      const saved = JSON.parse(raw);
      for (const [key, session] of Object.entries(saved.sessions || {})) {
        if (Object.hasOwn(this.config, key)) this._sessions[key] = session;
      }
      this._aliases = { ...(saved.aliases || {}) };
      this._active = this._session(saved.active) ? saved.active : null;
    } catch {
      await this.storage.remove("state");
    }
    this._changed();
  }

  async _save() {
    const state = { sessions: this._sessions, aliases: this._aliases, active: this._active };
    await this.storage.set("state", JSON.stringify(state));
    this._changed();
  }

  // --- discovery and HTTP ---

  /** The tenant's discovery document (cached); its `issuer` must be the configured one. */
  metadata(tenant) {
    const key = this.resolveTenant(tenant);
    if (!this._metadata[key]) {
      const issuer = this.config[key].issuer;
      this._metadata[key] = this._getJson(`${issuer}/.well-known/openid-configuration`).then((doc) => {
        // OIDC Discovery §4.3: the issuer in the document is the one we asked.
        if (doc.issuer !== issuer) throw new GatehouseError("invalid_issuer", "discovery issuer mismatch");
        return doc;
      });
      this._metadata[key].catch(() => delete this._metadata[key]);
    }
    return this._metadata[key];
  }

  async _getJson(url) {
    const response = await this._fetch(url, { headers: { Accept: "application/json" }, credentials: "omit" });
    if (!response.ok) throw new GatehouseError("server_error", `${url} answered ${response.status}`);
    return response.json();
  }

  async _tokenRequest(key, params) {
    const meta = await this.metadata(key);
    const body = new URLSearchParams({ client_id: this.config[key].clientId, ...params });
    // A form POST with Accept only is a CORS "simple request": no preflight needed.
    const response = await this._fetch(meta.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body,
      credentials: "omit",
    });
    let payload = {};
    try { payload = await response.json(); } catch { /* not JSON: handled below */ }
    if (!response.ok || !payload.access_token) {
      throw new GatehouseError(payload.error || "server_error", payload.error_description || `token endpoint answered ${response.status}`, { status: response.status });
    }
    return payload;
  }

  _checkIdToken(key, idToken, nonce) {
    const { issuer, clientId } = this.config[key];
    const claims = decodeJwt(idToken);
    // OIDC Core §3.1.3.7: iss, aud (and azp), exp, nonce. The signature is the server's
    // word over TLS from the token endpoint (§3.1.3.7 item 6).
    if (claims.iss !== issuer) throw new GatehouseError("invalid_id_token", "iss does not match the tenant");
    const aud = [].concat(claims.aud);
    if (!aud.includes(clientId)) throw new GatehouseError("invalid_id_token", "aud does not include the client");
    if (aud.length > 1 && claims.azp !== clientId) throw new GatehouseError("invalid_id_token", "azp is not the client");
    if (typeof claims.exp !== "number" || claims.exp < now() - 60) throw new GatehouseError("invalid_id_token", "expired");
    if (nonce !== undefined && claims.nonce !== nonce) throw new GatehouseError("invalid_id_token", "nonce mismatch");
    return claims;
  }

  _store(key, tokens, previous = {}, { resource, keepResources = true } = {}) {
    const idToken = tokens.id_token || previous.idToken;
    const user = tokens.id_token ? this._checkIdToken(key, tokens.id_token) : previous.user;
    const access = decodeJwt(tokens.access_token);
    const lifetime = Number(tokens.expires_in) || (access.exp ? access.exp - now() : 300);
    const held = { accessToken: tokens.access_token, expiresAt: now() + lifetime, scope: tokens.scope || access.scope || "" };
    const resources = keepResources ? { ...(previous.resources || {}) } : {};
    if (resource) resources[resource] = held;
    this._sessions[key] = {
      // The token for the app itself (aud = client id); an API's token is in `resources`.
      accessToken: resource ? previous.accessToken : held.accessToken,
      expiresAt: resource ? previous.expiresAt : held.expiresAt,
      // Rotation (DESIGN §4): the new refresh token replaces the old; keep the old
      // only when the server did not send one.
      refreshToken: tokens.refresh_token || previous.refreshToken || null,
      idToken,
      user,
      scope: resource ? previous.scope : held.scope,
      resources,
    };
    if (access.tenant_id) this._aliases[access.tenant_id] = key;
  }

  // --- sign in ---

  /** Redirect to the tenant's sign-in page. `organization` selects the active org. */
  async login({ tenant, organization, prompt, loginHint, scope, resources, returnTo, extraParams } = {}) {
    await this.ready;
    const key = this.resolveTenant(tenant);
    const { issuer, clientId } = this.config[key];
    const meta = await this.metadata(key);
    const verifier = randomString(32);
    const state = randomString(16);
    const nonce = randomString(16);
    const params = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: this.redirectUri,
      scope: scope || this.scope,
      state,
      nonce,
      code_challenge: await pkceChallenge(verifier),
      code_challenge_method: "S256",
    });
    for (const resource of resources || this.config[key].resources || this.resources) {
      params.append("resource", resource);
    }
    if (organization) params.set("organization", organization);
    if (prompt) params.set("prompt", prompt);
    if (loginHint) params.set("login_hint", loginHint);
    for (const [name, value] of Object.entries(extraParams || {})) params.set(name, value);
    const tx = { kind: "login", tenant: key, issuer, verifier, nonce, returnTo: returnTo || null, at: Date.now() };
    this.transactions.set(TX_PREFIX + state, JSON.stringify(tx));
    const url = `${meta.authorization_endpoint}?${params}`;
    this._navigate(url);
    return url;
  }

  _takeTransaction(state) {
    if (!state) return null;
    const raw = this.transactions.get(TX_PREFIX + state);
    this.transactions.remove(TX_PREFIX + state); // single use
    if (!raw) return null;
    const tx = JSON.parse(raw);
    return Date.now() - tx.at > TX_MAX_AGE_MS ? null : tx;
  }

  /**
   * Finish a sign-in (or logout) redirect. Returns null when `url` is no redirect
   * response, `{ tenant, user, returnTo }` after a sign-in, `{ loggedOut: true }` after
   * logout. Throws GatehouseError: invalid_state, invalid_issuer, or the server's error.
   */
  async handleRedirect(url = globalThis.location.href, { cleanUrl = true } = {}) {
    await this.ready;
    const target = new URL(url);
    const query = new URLSearchParams(target.search); // a copy: cleaning the URL edits target
    const state = query.get("state");
    if (!query.has("code") && !query.has("error")) {
      if (!state) return null;
      const tx = this._takeTransaction(state);
      if (!tx || tx.kind !== "logout") return null;
      if (cleanUrl) this._cleanUrl(target);
      return { loggedOut: true, tenant: tx.tenant };
    }
    if (cleanUrl) this._cleanUrl(target);
    const tx = this._takeTransaction(state);
    if (!tx || tx.kind !== "login") {
      throw new GatehouseError("invalid_state", "the response does not answer a sign-in started here");
    }
    // RFC 9207 §2.4: compare iss with the issuer the request was sent to, before
    // anything else in the response is used (mix-up defence).
    const meta = await this.metadata(tx.tenant);
    const iss = query.get("iss");
    if (iss !== null ? iss !== tx.issuer : meta.authorization_response_iss_parameter_supported) {
      throw new GatehouseError("invalid_issuer", "the response comes from another issuer");
    }
    if (query.has("error")) {
      throw new GatehouseError(query.get("error"), query.get("error_description") || "");
    }
    const tokens = await this._tokenRequest(tx.tenant, {
      grant_type: "authorization_code",
      code: query.get("code"),
      redirect_uri: this.redirectUri,
      code_verifier: tx.verifier,
    });
    if (!tokens.id_token) throw new GatehouseError("invalid_id_token", "no ID token was returned");
    this._checkIdToken(tx.tenant, tokens.id_token, tx.nonce);
    this._store(tx.tenant, tokens);
    this._active = tx.tenant;
    await this._save();
    return { tenant: tx.tenant, user: this.user, returnTo: tx.returnTo };
  }

  _cleanUrl(target) {
    const history = globalThis.history;
    if (!history || !globalThis.location || target.href !== globalThis.location.href) return;
    for (const name of ["code", "state", "iss", "error", "error_description", "session_state"]) {
      target.searchParams.delete(name);
    }
    history.replaceState(history.state, "", target.pathname + target.search + target.hash);
  }

  // --- tokens ---

  /**
   * A valid access token for the active (or given) tenant, refreshed shortly before expiry.
   * With `resource` (an API's identifier, asked for at sign-in): a token for that API
   * (`aud` = the identifier, `scope` = your permissions there), one per API, each
   * obtained and renewed with the tenant's refresh token (RFC 8707 §2.2).
   */
  async getAccessToken({ tenant, minValidity, resource } = {}) {
    await this.ready;
    const key = this.resolveTenant(tenant);
    const session = this._session(key);
    if (!session) throw new GatehouseError("login_required", `not signed in at ${key}`);
    const skew = minValidity ?? this.refreshSkew;
    const held = resource ? session.resources?.[resource] : session;
    if (held && held.expiresAt - skew > now()) return held.accessToken;
    await this.refresh({ tenant: key, resource });
    const fresh = this._session(key);
    return resource ? fresh.resources[resource].accessToken : fresh.accessToken;
  }

  /**
   * Use the tenant's refresh token now. Concurrent calls share the one request in
   * flight: two requests with the same rotating refresh token would look like a
   * replay and revoke the whole family (DESIGN §4 reuse detection).
   */
  refresh({ tenant, organization, resource } = {}) {
    const key = this.resolveTenant(tenant);
    // Calls for the same thing share the request in flight; others queue behind it (each
    // refresh rotates the one refresh token, so they never run side by side).
    const purpose = organization ? null : `resource:${resource || ""}`;
    const pending = this._inflight[key];
    if (pending && purpose && pending.purpose === purpose) return pending.promise;
    const previous = pending ? pending.promise.catch(() => {}) : Promise.resolve();
    const run = previous.then(() => this._refreshNow(key, organization, resource));
    this._inflight[key] = { purpose, promise: run };
    const clear = () => { if (this._inflight[key]?.promise === run) delete this._inflight[key]; };
    run.then(clear, clear);
    return run;
  }

  async _refreshNow(key, organization, resource) {
    await this.ready;
    const previous = this._session(key);
    if (!previous?.refreshToken) throw new GatehouseError("login_required", `no refresh token held for ${key}`);
    const params = { grant_type: "refresh_token", refresh_token: previous.refreshToken };
    if (organization) params.organization = organization;
    if (resource) params.resource = resource;
    let tokens;
    try {
      tokens = await this._tokenRequest(key, params);
    } catch (error) {
      if (error.code === "invalid_grant") {
        // The family is gone (revoked, expired, logged out): forget this tenant only.
        delete this._sessions[key];
        if (this._active === key) this._active = null;
        await this._save();
      }
      throw error;
    }
    // Another organization means other permissions: tokens of APIs are fetched anew.
    this._store(key, tokens, previous, { resource, keepResources: !organization });
    await this._save();
    return decodeJwt(tokens.access_token);
  }

  /**
   * Make `orgId` the active organization of the active (or given) tenant: a refresh
   * grant with `organization=orgId` (DESIGN §4). Resolves to the new access-token
   * claims; a non-member gets GatehouseError `invalid_request` and keeps the old tokens.
   */
  async switchOrganization(orgId, { tenant } = {}) {
    if (!orgId) throw new GatehouseError("invalid_request", "an organization id is required");
    await this.ready;
    return this.refresh({ tenant, organization: orgId });
  }

  /**
   * Act in another tenant: with the refresh token held for it, mint fresh tokens there;
   * with none held (or a dead one), start a sign-in there (this navigates away).
   */
  async switchTenant(tenantIdOrSlug, { organization, login = true } = {}) {
    await this.ready;
    const key = this.resolveTenant(tenantIdOrSlug);
    if (this._session(key)?.refreshToken) {
      try {
        const claims = await this.refresh({ tenant: key, organization });
        this._active = key;
        await this._save();
        return { tenant: key, claims };
      } catch (error) {
        if (error.code !== "invalid_grant") throw error;
      }
    }
    if (!login) throw new GatehouseError("login_required", `not signed in at ${key}`);
    await this.login({ tenant: key, organization });
    return { tenant: key, redirected: true };
  }

  /** The OIDC userinfo of the active (or given) tenant. */
  async fetchUserInfo({ tenant } = {}) {
    const key = this.resolveTenant(tenant);
    const meta = await this.metadata(key);
    const token = await this.getAccessToken({ tenant: key });
    const response = await this._fetch(meta.userinfo_endpoint, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      credentials: "omit",
    });
    if (!response.ok) throw new GatehouseError("invalid_token", `userinfo answered ${response.status}`);
    return response.json();
  }

  // --- sign out ---

  /**
   * Sign out of the active (or given) tenant: forget its tokens, revoke its refresh
   * token (RFC 7009, best effort), and end the Gatehouse session through RP-initiated
   * logout (`id_token_hint`, `post_logout_redirect_uri`, `state`). Sessions held for
   * other tenants stay. `redirect: false` only forgets and revokes.
   */
  async logout({ tenant, postLogoutRedirectUri, redirect = true } = {}) {
    await this.ready;
    const key = this.resolveTenant(tenant);
    const session = this._session(key);
    const meta = await this.metadata(key);
    delete this._sessions[key];
    if (this._active === key) this._active = Object.keys(this._sessions)[0] || null;
    await this._save();
    if (session?.refreshToken && meta.revocation_endpoint) {
      const body = new URLSearchParams({
        token: session.refreshToken,
        token_type_hint: "refresh_token",
        client_id: this.config[key].clientId,
      });
      try {
        await this._fetch(meta.revocation_endpoint, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body,
          credentials: "omit",
        });
      } catch { /* the session ends below anyway */ }
    }
    if (!redirect || !meta.end_session_endpoint) return null;
    const state = randomString(16);
    this.transactions.set(TX_PREFIX + state, JSON.stringify({ kind: "logout", tenant: key, at: Date.now() }));
    const params = new URLSearchParams({
      client_id: this.config[key].clientId,
      post_logout_redirect_uri: postLogoutRedirectUri || this.postLogoutRedirectUri,
      state,
    });
    if (session?.idToken) params.set("id_token_hint", session.idToken);
    const url = `${meta.end_session_endpoint}?${params}`;
    this._navigate(url);
    return url;
  }
}

function safeSessionStorage() {
  try {
    const store = globalThis.sessionStorage;
    store.setItem("gatehouse.probe", "1");
    store.removeItem("gatehouse.probe");
    return webStorage(store, "");
  } catch {
    return memoryStorage(); // the redirect flow then works only within one page load
  }
}

/** Create a client. See static/sdk/README.md for every option. */
export function createGatehouse(options) {
  return new Gatehouse(options);
}

export default createGatehouse;
