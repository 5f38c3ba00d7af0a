// OAuth 2.0 Token Exchange (RFC 8693) with clients that are not ours: openid-client v6
// (npm) against a live Gatehouse. A relying party signs a person in (code flow, PKCE,
// RFC 8707 `resource`) and gets an access token for one API; a backend service then
// exchanges it with genericGrantRequest for a token aimed at another API of the tenant,
// acting for the person (`act`), and introspects it. Then the refusals: an API outside
// the service's policy (invalid_target) and a token of another tenant (invalid_request).
// Input: env ISSUER, RP_ID, RP_SECRET, REDIRECT_URI, EMAIL, PASSWORD, RESOURCE, TARGET,
// OUTSIDE, SERVICE_ID, SERVICE_SECRET, OTHER_ISSUER, OTHER_ID, OTHER_SECRET, OTHER_RESOURCE.
// Output: one JSON object on stdout; a non-zero exit on any failure.
import * as oidc from "openid-client";

import { exchange, secretBasic, signIn } from "./rp.mjs";

const env = process.env;
const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS = "urn:ietf:params:oauth:token-type:access_token";

function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
}

async function refusal(promise) {
  try {
    await promise;
  } catch (error) {
    return error.error || error.code || String(error);
  }
  return null;
}

// 1. The person's token for RESOURCE, through the relying party.
const rp = await secretBasic(env.ISSUER, env.RP_ID, env.RP_SECRET);
const flow = await signIn(rp, { resource: env.RESOURCE });
const person = await exchange(rp, flow, { parameters: { resource: env.RESOURCE } });

// 2. The backend exchanges it for a token aimed at TARGET.
const service = await secretBasic(env.ISSUER, env.SERVICE_ID, env.SERVICE_SECRET);
const advertised = service.serverMetadata().grant_types_supported.includes(GRANT);
const exchanged = await oidc.genericGrantRequest(service, GRANT, {
  subject_token: person.access_token,
  subject_token_type: ACCESS,
  requested_token_type: ACCESS,
  resource: env.TARGET,
  scope: "view post close",
});
const introspected = await oidc.tokenIntrospection(service, exchanged.access_token);

// 3. Refusals.
const outside = await refusal(
  oidc.genericGrantRequest(service, GRANT, {
    subject_token: person.access_token,
    subject_token_type: ACCESS,
    resource: env.OUTSIDE,
  }),
);
const other = await secretBasic(env.OTHER_ISSUER, env.OTHER_ID, env.OTHER_SECRET);
const foreign = await oidc.clientCredentialsGrant(other, { resource: env.OTHER_RESOURCE });
const foreignRefused = await refusal(
  oidc.genericGrantRequest(service, GRANT, {
    subject_token: foreign.access_token,
    subject_token_type: ACCESS,
    resource: env.TARGET,
  }),
);

console.log(
  JSON.stringify({
    advertised,
    subject: claimsOf(person.access_token),
    exchanged: { ...exchanged, access_token: undefined },
    claims: claimsOf(exchanged.access_token),
    introspected,
    outside,
    foreign_refused: foreignRefused,
  }),
);
