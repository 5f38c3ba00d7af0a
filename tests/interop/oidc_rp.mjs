// A relying party that is not ours: openid-client v6 (npm) against a live Gatehouse.
// Discovery, authorization code + PKCE (S256), the hosted /login form and the consent
// page driven with fetch and a cookie jar, then the token, userinfo and refresh calls.
// Input: env ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, EMAIL, PASSWORD.
// Output: one JSON object on stdout; a non-zero exit on any failure.
import * as oidc from "openid-client";

import { exchange, secretBasic, signIn } from "./rp.mjs";

const config = await secretBasic();
const flow = await signIn(config);
const tokens = await exchange(config, flow);
const claims = tokens.claims();
const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
const again = await oidc.fetchUserInfo(config, refreshed.access_token, claims.sub);

console.log(
  JSON.stringify({
    issuer: config.serverMetadata().issuer,
    iss_in_callback: flow.callback.searchParams.get("iss"),
    sub: claims.sub,
    tenant_id: claims.tenant_id,
    nonce_ok: claims.nonce === flow.nonce,
    userinfo,
    refreshed: refreshed.refresh_token !== tokens.refresh_token,
    userinfo_after_refresh: again.sub,
  }),
);
