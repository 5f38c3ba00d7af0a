// A relying party that is not ours: openid-client v6 (npm) against a live Gatehouse.
// Discovery, authorization code + PKCE (S256), the hosted /login form and the consent
// page driven with fetch and a cookie jar, then the token, userinfo and refresh calls.
// Input: env ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, EMAIL, PASSWORD.
// Output: one JSON object on stdout; a non-zero exit on any failure.
import * as oidc from "openid-client";

import { signInAndConsent } from "./browser.mjs";

const env = process.env;

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
const callback = await signInAndConsent(authorizationUrl, env.REDIRECT_URI, env.EMAIL, env.PASSWORD);
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
