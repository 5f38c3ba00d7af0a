// A machine client that is not ours: openid-client v6 (npm) asking a live Gatehouse for
// client_credentials tokens for an API (RFC 8707 `resource`), then introspecting one.
// Input: env ISSUER, CLIENT_ID, CLIENT_SECRET, RESOURCE, OTHER_RESOURCE.
// Output: one JSON object on stdout; a non-zero exit on any failure.
import * as oidc from "openid-client";

const env = process.env;
const auth = oidc.ClientSecretBasic(env.CLIENT_SECRET);
const config = await oidc.discovery(new URL(env.ISSUER), env.CLIENT_ID, env.CLIENT_SECRET, auth, {
  execute: [oidc.allowInsecureRequests],
});
const granted = await oidc.clientCredentialsGrant(config, { resource: env.RESOURCE, scope: "read fly" });
const claims = JSON.parse(Buffer.from(granted.access_token.split(".")[1], "base64url").toString());
const introspected = await oidc.tokenIntrospection(config, granted.access_token);
let refused = null;
try {
  await oidc.clientCredentialsGrant(config, { resource: env.OTHER_RESOURCE });
} catch (error) {
  refused = error.error || error.code || String(error);
}
console.log(JSON.stringify({ aud: claims.aud, scope: granted.scope, introspected, refused }));
