// The example SPA: sign in at one tenant, call the API, switch organization and
// tenant, sign out. Everything auth-related goes through the Gatehouse browser SDK.
import { createGatehouse, webStorage } from "/sdk/gatehouse.js";

const $ = (id) => document.getElementById(id);
const config = await (await fetch("/config.json")).json();

const auth = createGatehouse({
  tenants: config.tenants, // { slug: { issuer, clientId } }, one public client per tenant
  redirectUri: config.redirectUri,
  // Switching to a tenant where we hold no session is a full-page redirect; keeping
  // tokens in sessionStorage lets the refresh token of the first tenant survive it.
  // (The default, memory only, forgets everything on reload.)
  storage: webStorage(sessionStorage),
});
window.gatehouse = auth; // for the browser console (and the end-to-end tests)
window.exampleConfig = config;

function showError(error) {
  const box = $("error");
  box.textContent = error ? `${error.code || "error"}: ${error.description || error.message}` : "";
  box.hidden = !error;
  document.body.dataset.error = error ? error.code || "error" : "";
}

function render() {
  const claims = auth.claims;
  $("status").textContent = auth.isAuthenticated ? "Signed in" : "Signed out";
  $("active-tenant").textContent = auth.tenant || "–";
  $("user").textContent = auth.user ? `${auth.user.name || ""} <${auth.user.email || auth.user.sub}>` : "–";
  $("token-summary").textContent = claims
    ? `${claims.tenant_id} / ${claims.org_id || "none"} / ${(claims.roles || []).join(", ")}`
    : "–";
  $("held-tenants").textContent = auth.tenants.join(", ") || "–";
  for (const id of ["call-api", "call-billing", "refresh", "logout", "switch-org"]) {
    $(id).disabled = !auth.isAuthenticated;
  }
  document.body.dataset.tenant = auth.tenant || "";
}

// Each API gets a token of its own (aud = its identifier), asked for at sign-in.
async function tokenFor(key) {
  const identifier = config.apis[key].identifier;
  const held = config.tenants[auth.tenant]?.resources || [];
  if (!held.includes(identifier)) {
    throw Object.assign(new Error(`${auth.tenant} defines no API ${identifier}`), { code: "no_api" });
  }
  return auth.getAccessToken({ resource: identifier });
}

async function api(path, init = {}, key = "notes") {
  const token = await tokenFor(key);
  const response = await fetch(config.apis[key].base + path, {
    ...init,
    headers: { ...(init.headers || {}), Authorization: `Bearer ${token}` },
  });
  const body = await response.json();
  $("api-result").textContent = JSON.stringify(body, null, 2);
  if (!response.ok) throw Object.assign(new Error(body.error_description || body.error), { code: body.error });
  return body;
}

async function loadNotes() {
  const { items } = await api("/notes");
  $("notes").replaceChildren(...items.map((note) => {
    const li = document.createElement("li");
    li.textContent = note.text;
    return li;
  }));
}

function action(id, run) {
  $(id).addEventListener("click", async (event) => {
    event.preventDefault();
    showError(null);
    try {
      await run();
    } catch (error) {
      showError(error);
    }
    render();
  });
}

const selectedTenant = () => $("tenant-select").value;

action("login", () => auth.login({ tenant: selectedTenant() }));
action("switch-tenant", async () => {
  await auth.switchTenant(selectedTenant()); // may redirect to sign in there
  await loadNotes();
});
action("switch-org", async () => {
  await auth.switchOrganization($("org-id").value.trim());
  await loadNotes();
});
action("call-api", () => api("/me"));
action("call-billing", () => api("/invoices", {}, "billing"));
action("refresh", () => auth.refresh());
action("logout", () => auth.logout());
$("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError(null);
  try {
    await api("/notes", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: $("note-text").value }),
    });
    $("note-text").value = "";
    await loadNotes();
  } catch (error) {
    showError(error);
  }
});

for (const [slug, entry] of Object.entries(config.tenants)) {
  $("tenant-select").append(new Option(entry.name || slug, slug));
}
auth.subscribe(render);
try {
  await auth.ready;
  const result = await auth.handleRedirect();
  if (result?.tenant) $("tenant-select").value = result.tenant;
  if (auth.isAuthenticated) await loadNotes();
} catch (error) {
  showError(error);
}
render();
document.body.dataset.ready = "true";
