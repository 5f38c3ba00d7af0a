// A relying party that is not ours: openid-client v6 (npm) against a live Gatehouse.
// Discovery, authorization code + PKCE (S256), the hosted /login form and the consent
// page driven with fetch and a cookie jar, then the token, userinfo and refresh calls.
// Input: env ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, EMAIL, PASSWORD.
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

const config = await oidc.discovery(
  new URL(env.ISSUER),
  env.CLIENT_ID,
  env.CLIENT_SECRET,
  oidc.ClientSecretBasic(env.CLIENT_SECRET),
  { execute: [oidc.allowInsecureRequests] },
);
const verifier = oidc.randomPKCECodeVerifier();
const challenge = await oidc.calculatePKCECodeChallenge(verifier);
const state = oidc.randomState();
const nonce = oidc.randomNonce();
const authorizationUrl = oidc.buildAuthorizationUrl(config, {
  redirect_uri: env.REDIRECT_URI,
  scope: "openid profile email",
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
const again = await oidc.fetchUserInfo(config, refreshed.access_token, claims.sub);

console.log(
  JSON.stringify({
    issuer: config.serverMetadata().issuer,
    iss_in_callback: callback.searchParams.get("iss"),
    sub: claims.sub,
    tenant_id: claims.tenant_id,
    nonce_ok: claims.nonce === nonce,
    userinfo,
    refreshed: refreshed.refresh_token !== tokens.refresh_token,
    userinfo_after_refresh: again.sub,
  }),
);
