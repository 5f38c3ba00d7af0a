// Dynamic client registration from a relying party that is not ours: openid-client v6's
// dynamicClientRegistration() (RFC 7591) against a live Gatehouse, then the code flow with
// the registered client (the hosted /login form and the consent page driven with fetch and
// a cookie jar), a refresh, and the RFC 7592 read and delete with the registration access
// token. Input: env ISSUER, REDIRECT_URI, EMAIL, PASSWORD, INITIAL_ACCESS_TOKEN (optional).
// Output: one JSON object on stdout; a non-zero exit on any failure.
import * as oidc from "openid-client";

import { exchange, insecure, signIn } from "./rp.mjs";

const env = process.env;
const options = { ...insecure };
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
const flow = await signIn(config, { scope: "openid profile email offline_access" });
const tokens = await exchange(config, flow);
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
    nonce_ok: claims.nonce === flow.nonce,
    email: userinfo.email,
    refreshed: refreshed.refresh_token !== tokens.refresh_token,
    read_status: read.status,
    read_client_id: readBody.client_id,
    delete_status: removed.status,
    after_delete_status: after.status,
  }),
);
