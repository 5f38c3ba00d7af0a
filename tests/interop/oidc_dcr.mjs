// Dynamic client registration from a relying party that is not ours: openid-client v6's
// dynamicClientRegistration() (RFC 7591) against a live Gatehouse, then the code flow with
// the registered client (the hosted /login form and the consent page driven with fetch and
// a cookie jar), a refresh, and the RFC 7592 read and delete with the registration access
// token. Input: env ISSUER, REDIRECT_URI, EMAIL, PASSWORD, INITIAL_ACCESS_TOKEN (optional).
// Output: one JSON object on stdout; a non-zero exit on any failure.
import * as oidc from "openid-client";

const env = process.env;
const jar = new Map();

function remember(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === "") jar.delete(name);
    else jar.set(name, value);
  }
}

async function browse(url, init = {}) {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const response = await fetch(url, {
    ...init,
    redirect: "manual",
    headers: { ...(init.headers || {}), ...(cookie ? { cookie } : {}) },
  });
  remember(response);
  return response;
}

function hiddenFields(html) {
  const fields = {};
  for (const match of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(match[0]);
    const value = /value="([^"]*)"/.exec(match[0]);
    if (name) fields[name[1]] = (value ? value[1] : "").replaceAll("&amp;", "&").replaceAll("&#34;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">");
  }
  return fields;
}

// The form that holds ``marker`` (pages also carry e.g. a sign-out form in the header).
function formWith(html, marker, base) {
  const form = html.split("<form").slice(1).find((part) => part.split("</form>")[0].includes(marker));
  if (!form) throw new Error(`no form with ${marker} at ${base}`);
  const body = "<form" + form.split("</form>")[0];
  const action = /action="([^"]+)"/.exec(body);
  return { url: new URL(action[1].replaceAll("&amp;", "&"), base), fields: hiddenFields(body) };
}

async function post(url, fields) {
  return browse(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
}

// Follow the browser's journey until the server sends it to the client's redirect URI.
async function signInAndConsent(authorizationUrl) {
  let url = authorizationUrl;
  for (let step = 0; step < 12; step++) {
    const response = await browse(url);
    if (response.status >= 300 && response.status < 400) {
      const next = new URL(response.headers.get("location"), url);
      if (next.href.startsWith(env.REDIRECT_URI)) return next;
      url = next;
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`unexpected ${response.status} at ${url}: ${html.slice(0, 300)}`);
    let answer;
    if (html.includes('name="password"')) {
      const form = formWith(html, 'name="password"', url);
      answer = await post(form.url, { ...form.fields, email: env.EMAIL, password: env.PASSWORD });
    } else if (html.includes('name="decision"')) {
      const form = formWith(html, 'name="decision"', url);
      answer = await post(form.url, { ...form.fields, decision: "approve" });
    } else {
      throw new Error(`unexpected page at ${url}: ${html.slice(0, 300)}`);
    }
    if (answer.status < 300 || answer.status >= 400) {
      throw new Error(`form at ${url} answered ${answer.status}: ${(await answer.text()).slice(0, 300)}`);
    }
    const next = new URL(answer.headers.get("location"), url);
    if (next.href.startsWith(env.REDIRECT_URI)) return next;
    url = next;
  }
  throw new Error("too many steps");
}

const options = { execute: [oidc.allowInsecureRequests] };
if (env.INITIAL_ACCESS_TOKEN) options.initialAccessToken = env.INITIAL_ACCESS_TOKEN;
const config = await oidc.dynamicClientRegistration(
  new URL(env.ISSUER),
  {
    client_name: "openid-client DCR",
    application_type: "native", // a loopback http redirect URI (RFC 8252)
    redirect_uris: [env.REDIRECT_URI],
    grant_types: ["authorization_code", "refresh_token"],
    token_endpoint_auth_method: "client_secret_post",
    scope: "openid profile email offline_access",
  },
  undefined, // ClientSecretPost with the issued secret
  options,
);
const registered = config.clientMetadata();
const verifier = oidc.randomPKCECodeVerifier();
const challenge = await oidc.calculatePKCECodeChallenge(verifier);
const state = oidc.randomState();
const nonce = oidc.randomNonce();
const authorizationUrl = oidc.buildAuthorizationUrl(config, {
  redirect_uri: env.REDIRECT_URI,
  scope: "openid profile email offline_access",
  code_challenge: challenge,
  code_challenge_method: "S256",
  state,
  nonce,
});
const callback = await signInAndConsent(authorizationUrl);
const tokens = await oidc.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);

// RFC 7592 with the registration access token the registration answered.
const auth = { authorization: `Bearer ${registered.registration_access_token}` };
const read = await fetch(registered.registration_client_uri, { headers: auth });
const readBody = await read.json();
const removed = await fetch(registered.registration_client_uri, { method: "DELETE", headers: auth });
const after = await fetch(registered.registration_client_uri, { headers: auth });

console.log(
  JSON.stringify({
    registration_endpoint: config.serverMetadata().registration_endpoint,
    client_id: registered.client_id,
    has_secret: typeof registered.client_secret === "string",
    token_endpoint_auth_method: registered.token_endpoint_auth_method,
    sub: claims.sub,
    nonce_ok: claims.nonce === nonce,
    email: userinfo.email,
    refreshed: refreshed.refresh_token !== tokens.refresh_token,
    read_status: read.status,
    read_client_id: readBody.client_id,
    delete_status: removed.status,
    after_delete_status: after.status,
  }),
);
