// openid-client v6 (npm) against a live Gatehouse with private_key_jwt (RFC 7523,
// oidc.PrivateKeyJwt) and signed request objects (RFC 9101, buildAuthorizationUrlWithJAR):
// client_credentials, the code flow with a request object, then a request object pushed
// through PAR (buildAuthorizationUrlWithPAR over the JAR URL's parameters).
// Input: env ISSUER, CLIENT_ID, PRIVATE_JWK (the client's ES256 private key, JSON),
// REDIRECT_URI, EMAIL, PASSWORD. Output: one JSON object on stdout; non-zero exit on failure.
import * as oidc from "openid-client";

import { exchange, insecure, signIn } from "./rp.mjs";

const env = process.env;
const jwk = JSON.parse(env.PRIVATE_JWK);
const privateKey = {
  kid: jwk.kid,
  key: await crypto.subtle.importKey(
    "jwk",
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d },
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  ),
};

const config = await oidc.discovery(
  new URL(env.ISSUER),
  env.CLIENT_ID,
  { token_endpoint_auth_method: "private_key_jwt" },
  oidc.PrivateKeyJwt(privateKey),
  insecure,
);

const machine = await oidc.clientCredentialsGrant(config, { scope: "openid" });

async function flow({ par }) {
  const started = await signIn(config, {}, { par, jar: privateKey });
  const tokens = await exchange(config, started);
  return {
    authorization_url: started.url.href,
    request_object: started.signed,
    sub: tokens.claims().sub,
    nonce_ok: tokens.claims().nonce === started.nonce,
  };
}

const jar = await flow({ par: false });
const pushed = await flow({ par: true });
const metadata = config.serverMetadata();
console.log(
  JSON.stringify({
    issuer: metadata.issuer,
    auth_methods: metadata.token_endpoint_auth_methods_supported,
    request_parameter_supported: metadata.request_parameter_supported,
    machine_token_type: machine.token_type,
    machine_access_token: machine.access_token,
    jar,
    pushed,
  }),
);
