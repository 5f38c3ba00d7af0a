// openid-client v6 (npm) against a live Gatehouse: the code flow through a pushed
// authorization request (RFC 9126, buildAuthorizationUrlWithPAR), then with
// response_mode=form_post (the form's POST handed to authorizationCodeGrant as a Request),
// then both at once.
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

async function flow({ par, formPost }) {
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
  };
  if (formPost) parameters.response_mode = "form_post";
  const url = par
    ? await oidc.buildAuthorizationUrlWithPAR(config, parameters)
    : oidc.buildAuthorizationUrl(config, parameters);
  const callback = await signInAndConsent(url, env.REDIRECT_URI, env.EMAIL, env.PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  return {
    authorization_url: url.href,
    posted: callback instanceof Request,
    sub: tokens.claims().sub,
    nonce_ok: tokens.claims().nonce === nonce,
  };
}

const pushed = await flow({ par: true, formPost: false });
const posted = await flow({ par: false, formPost: true });
const both = await flow({ par: true, formPost: true });
console.log(
  JSON.stringify({
    issuer: config.serverMetadata().issuer,
    par_endpoint: config.serverMetadata().pushed_authorization_request_endpoint,
    pushed,
    posted,
    both,
  }),
);
