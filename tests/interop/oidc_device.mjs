// A device (TV, CLI) that is not ours: openid-client v6 (npm) running the OAuth 2.0 Device
// Authorization Grant (RFC 8628) against a live Gatehouse, as a public client.
// Input: env ISSUER, CLIENT_ID.
// Output: first line {"user_code", "verification_uri", "verification_uri_complete"} for the
// person (the test) to act on; last line the report once the tokens came; non-zero on failure.
import * as oidc from "openid-client";

const env = process.env;
const config = await oidc.discovery(new URL(env.ISSUER), env.CLIENT_ID, undefined, oidc.None(), {
  execute: [oidc.allowInsecureRequests],
});
const started = await oidc.initiateDeviceAuthorization(config, { scope: "openid profile email offline_access" });
console.log(JSON.stringify({
  user_code: started.user_code,
  verification_uri: started.verification_uri,
  verification_uri_complete: started.verification_uri_complete,
  expires_in: started.expires_in,
  interval: started.interval,
}));
// openid-client validates the ID token (iss, aud, exp, iat, signature by the JWKS) here.
const tokens = await oidc.pollDeviceAuthorizationGrant(config, started);
const claims = tokens.claims();
const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
console.log(JSON.stringify({
  sub: claims.sub,
  iss: claims.iss,
  aud: claims.aud,
  tenant_id: claims.tenant_id,
  sid: claims.sid,
  email: userinfo.email,
  has_refresh: Boolean(tokens.refresh_token),
  token_type: tokens.token_type,
}));
