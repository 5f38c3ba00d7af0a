// The relying party's side of the interop scripts, with openid-client v6: discovery, and
// the code flow — PKCE (S256), state and nonce, the authorization URL (plain, a signed
// request object, pushed), the hosted pages driven by ./browser.mjs, the code exchange.
// Reads env ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, EMAIL, PASSWORD.
import * as oidc from "openid-client";

import { signInAndConsent } from "./browser.mjs";

const env = process.env;
export const insecure = { execute: [oidc.allowInsecureRequests] };

// Discovery for a confidential client authenticating with HTTP Basic.
export function secretBasic(issuer = env.ISSUER, id = env.CLIENT_ID, secret = env.CLIENT_SECRET) {
  return oidc.discovery(new URL(issuer), id, secret, oidc.ClientSecretBasic(secret), insecure);
}

// Start the code flow and sign in: `extra` adds to or replaces the parameters; `jar` (a
// private key) sends them as a signed request object; `par` pushes them first.
export async function signIn(config, extra = {}, { par = false, jar = null } = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const parameters = {
    redirect_uri: env.REDIRECT_URI,
    scope: "openid profile email",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    ...extra,
  };
  let url = null;
  if (jar) url = await oidc.buildAuthorizationUrlWithJAR(config, parameters, jar);
  const signed = url?.searchParams.get("request") ?? null; // the request object, if any
  if (par) url = await oidc.buildAuthorizationUrlWithPAR(config, url ? url.searchParams : parameters);
  url ??= oidc.buildAuthorizationUrl(config, parameters);
  const callback = await signInAndConsent(url, env.REDIRECT_URI, env.EMAIL, env.PASSWORD);
  return { url, signed, callback, verifier, state, nonce };
}

// The code exchange of a flow from signIn(), with its PKCE verifier, state and nonce.
export function exchange(config, flow, { parameters, options } = {}) {
  const checks = {
    pkceCodeVerifier: flow.verifier,
    expectedState: flow.state,
    expectedNonce: flow.nonce,
    idTokenExpected: true,
  };
  return oidc.authorizationCodeGrant(config, flow.callback, checks, parameters, options);
}
