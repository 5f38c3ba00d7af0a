// openid-client v6 (npm) against a live Gatehouse: the claims request parameter and
// acr_values (OIDC Core §5.5, §3.1.2.1). First flow: scope openid only, email asked for in
// the ID token, name at userinfo, acr_values asking for mfa (voluntary: the tenant has MFA
// off). Second flow, pushed (RFC 9126): acr mfa as an essential claim, which cannot be
// met, so the callback carries unmet_authentication_requirements.
// Input: env ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, EMAIL, PASSWORD.
// Output: one JSON object on stdout; a non-zero exit on any failure.
import * as oidc from "openid-client";

import { exchange, secretBasic, signIn } from "./rp.mjs";

const config = await secretBasic();

const first = await signIn(config, {
  scope: "openid",
  acr_values: "mfa",
  claims: JSON.stringify({ id_token: { email: { essential: true } }, userinfo: { name: null } }),
});
const tokens = await exchange(config, first);
const claims = tokens.claims();
const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);

const second = await signIn(
  config,
  { scope: "openid", claims: JSON.stringify({ id_token: { acr: { essential: true, values: ["mfa"] } } }) },
  { par: true },
);
let refused = null;
try {
  await exchange(config, second);
} catch (error) {
  refused = error.error ?? error.cause?.error ?? String(error);
}

const metadata = config.serverMetadata();
console.log(
  JSON.stringify({
    claims_parameter_supported: metadata.claims_parameter_supported,
    acr_values_supported: metadata.acr_values_supported,
    sub: claims.sub,
    acr: claims.acr,
    amr: claims.amr,
    id_token_email: claims.email,
    id_token_has_name: "name" in claims,
    scope: tokens.scope,
    userinfo,
    refused,
  }),
);
