// Back-channel logout seen from a relying party that is not ours: openid-client v6 signs
// in (discovery, code + PKCE, the hosted /login form driven with fetch and a cookie jar),
// then ends the session with RP-initiated logout (buildEndSessionUrl). The Python side's
// back-channel endpoint receives the Logout Token.
// Input: env ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI,
// EMAIL, PASSWORD. Output: one JSON object on stdout; a non-zero exit on any failure.
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

async function signIn(authorizationUrl) {
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
    if (response.status !== 200 || !html.includes('name="password"')) {
      throw new Error(`unexpected ${response.status} at ${url}: ${html.slice(0, 300)}`);
    }
    const form = formWith(html, 'name="password"', url);
    const answer = await post(form.url, { ...form.fields, email: env.EMAIL, password: env.PASSWORD });
    if (answer.status < 300 || answer.status >= 400) {
      throw new Error(`login answered ${answer.status}: ${(await answer.text()).slice(0, 300)}`);
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
const metadata = config.serverMetadata();
const verifier = oidc.randomPKCECodeVerifier();
const state = oidc.randomState();
const nonce = oidc.randomNonce();
const authorizationUrl = oidc.buildAuthorizationUrl(config, {
  redirect_uri: env.REDIRECT_URI,
  scope: "openid profile email",
  code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  state,
  nonce,
});
const callback = await signIn(authorizationUrl);
const tokens = await oidc.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();

const logoutState = oidc.randomState();
const endSessionUrl = oidc.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: env.POST_LOGOUT_REDIRECT_URI,
  state: logoutState,
});
const ended = await browse(endSessionUrl);
const location = ended.headers.get("location");

// Signed out at the OP: a prompt=none request now answers login_required.
const again = await browse(
  oidc.buildAuthorizationUrl(config, {
    redirect_uri: env.REDIRECT_URI,
    scope: "openid",
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: "S256",
    prompt: "none",
    state: oidc.randomState(),
  }),
);

console.log(
  JSON.stringify({
    backchannel_logout_supported: metadata.backchannel_logout_supported,
    backchannel_logout_session_supported: metadata.backchannel_logout_session_supported,
    end_session_endpoint: metadata.end_session_endpoint,
    sub: claims.sub,
    sid: claims.sid,
    logout_status: ended.status,
    logout_location: location,
    logout_state: logoutState,
    after_logout: new URL(again.headers.get("location")).searchParams.get("error"),
  }),
);
