// A public client that is not ours doing DPoP (RFC 9449): openid-client v6 (npm) with a
// fresh DPoP key pair, against a live Gatehouse that requires server nonces. The code
// flow (hosted /login and consent driven with fetch), userinfo with the DPoP scheme, a
// refresh refused without the key, then refreshed with it. Every protocol request's
// status and DPoP error is recorded (a customFetch) so the test sees the nonce retries.
// Input: env ISSUER, CLIENT_ID, REDIRECT_URI, EMAIL, PASSWORD.
// Output: one JSON object on stdout; a non-zero exit on any failure.
import * as oidc from "openid-client";

import { exchange, insecure, signIn } from "./rp.mjs";

const env = process.env;
const exchanges = [];

const config = await oidc.discovery(new URL(env.ISSUER), env.CLIENT_ID, undefined, oidc.None(), insecure);
config[oidc.customFetch] = async (url, options) => {
  const response = await fetch(url, options);
  const copy = response.clone();
  let error = null;
  if (!copy.ok) error = (await copy.json().catch(() => ({}))).error || null;
  exchanges.push({
    path: new URL(url).pathname,
    dpop: Boolean(options.headers?.dpop || options.headers?.get?.("dpop")),
    status: response.status,
    error,
    nonce: response.headers.has("dpop-nonce"),
  });
  return response;
};
const keyPair = await oidc.randomDPoPKeyPair("ES256");
const DPoP = oidc.getDPoPHandle(config, keyPair);
const publicJwk = await crypto.subtle.exportKey("jwk", keyPair.publicKey);

const flow = await signIn(config, { scope: "openid profile email offline_access" });
const tokens = await exchange(config, flow, { options: { DPoP } });
const claims = tokens.claims();
const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub, { DPoP });

let refusedWithoutKey = null;
try {
  await oidc.refreshTokenGrant(config, tokens.refresh_token);
} catch (error) {
  refusedWithoutKey = error.error || error.code || String(error);
}
const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
const again = await oidc.fetchUserInfo(config, refreshed.access_token, claims.sub, { DPoP });
const cnf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).cnf;

console.log(
  JSON.stringify({
    dpop_algs: config.serverMetadata().dpop_signing_alg_values_supported,
    token_type: tokens.token_type,
    refreshed_token_type: refreshed.token_type,
    cnf: cnf(tokens.access_token),
    refreshed_cnf: cnf(refreshed.access_token),
    jwk: publicJwk,
    sub: claims.sub,
    userinfo,
    userinfo_after_refresh: again.sub,
    refused_without_key: refusedWithoutKey,
    exchanges,
  }),
);
