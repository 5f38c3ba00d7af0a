// Back-channel logout seen from a relying party that is not ours: openid-client v6 signs
// in (discovery, code + PKCE, the hosted /login form driven by ./browser.mjs),
// then ends the session with RP-initiated logout (buildEndSessionUrl). The Python side's
// back-channel endpoint receives the Logout Token.
// Input: env ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI,
// EMAIL, PASSWORD. Output: one JSON object on stdout; a non-zero exit on any failure.
import * as oidc from "openid-client";

import { browse } from "./browser.mjs";
import { exchange, secretBasic, signIn } from "./rp.mjs";

const env = process.env;

const config = await secretBasic();
const metadata = config.serverMetadata();
const tokens = await exchange(config, await signIn(config));
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
