// openid-client v6 (npm) against a live Gatehouse: the code flow through a pushed
// authorization request (RFC 9126, buildAuthorizationUrlWithPAR), then with
// response_mode=form_post (the form's POST handed to authorizationCodeGrant as a Request),
// then both at once.
// Input: env ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, EMAIL, PASSWORD.
// Output: one JSON object on stdout; a non-zero exit on any failure.
import { exchange, secretBasic, signIn } from "./rp.mjs";

const config = await secretBasic();

async function flow({ par, formPost }) {
  const started = await signIn(config, formPost ? { response_mode: "form_post" } : {}, { par });
  const tokens = await exchange(config, started);
  return {
    authorization_url: started.url.href,
    posted: started.callback instanceof Request,
    sub: tokens.claims().sub,
    nonce_ok: tokens.claims().nonce === started.nonce,
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
