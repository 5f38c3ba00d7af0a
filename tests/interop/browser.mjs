// A browser for the interop scripts: fetch with a cookie jar, the hosted /login form and
// the consent page filled in, until the server answers the client's redirect URI, either
// with a redirect (response_mode=query) or with an auto-submitting form
// (response_mode=form_post), which is returned as the Request the browser would send.
const jar = new Map();

function remember(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === "") jar.delete(name);
    else jar.set(name, value);
  }
}

export async function browse(url, init = {}) {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const response = await fetch(url, {
    ...init,
    redirect: "manual",
    headers: { ...(init.headers || {}), ...(cookie ? { cookie } : {}) },
  });
  remember(response);
  return response;
}

function unescape(value) {
  return value.replaceAll("&amp;", "&").replaceAll("&#34;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"');
}

function hiddenFields(html) {
  const fields = {};
  for (const match of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(match[0]);
    const value = /value="([^"]*)"/.exec(match[0]);
    if (name) fields[unescape(name[1])] = unescape(value ? value[1] : "");
  }
  return fields;
}

// The form that holds ``marker`` (pages also carry e.g. a sign-out form in the header).
function formWith(html, marker, base) {
  const form = html.split("<form").slice(1).find((part) => part.split("</form>")[0].includes(marker));
  if (!form) throw new Error(`no form with ${marker} at ${base}`);
  const body = "<form" + form.split("</form>")[0];
  const action = /action="([^"]+)"/.exec(body);
  return { url: new URL(unescape(action[1]), base), fields: hiddenFields(body) };
}

async function post(url, fields) {
  return browse(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
}

// Follow the browser's journey until the server sends it to ``redirectUri``: a URL (a
// redirect) or a Request (the form_post page's POST).
export async function signInAndConsent(authorizationUrl, redirectUri, email, password) {
  let url = authorizationUrl;
  for (let step = 0; step < 12; step++) {
    const response = await browse(url);
    if (response.status >= 300 && response.status < 400) {
      const next = new URL(response.headers.get("location"), url);
      if (next.href.startsWith(redirectUri)) return next;
      url = next;
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`unexpected ${response.status} at ${url}: ${html.slice(0, 300)}`);
    let answer;
    if (html.includes('id="form-post"')) {
      const form = formWith(html, 'id="form-post"', url);
      if (!form.url.href.startsWith(redirectUri)) throw new Error(`form_post to ${form.url}`);
      return new Request(form.url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form.fields).toString(),
      });
    } else if (html.includes('name="password"')) {
      const form = formWith(html, 'name="password"', url);
      answer = await post(form.url, { ...form.fields, email, password });
    } else if (html.includes('name="decision"')) {
      const form = formWith(html, 'name="decision"', url);
      answer = await post(form.url, { ...form.fields, decision: "approve" });
    } else {
      throw new Error(`unexpected page at ${url}: ${html.slice(0, 300)}`);
    }
    if (answer.status === 200) {
      url = new URL(answer.url || url);  // a page answered the post (e.g. form_post)
      const html2 = await answer.text();
      if (html2.includes('id="form-post"')) {
        const form = formWith(html2, 'id="form-post"', url);
        return new Request(form.url, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams(form.fields).toString(),
        });
      }
      throw new Error(`form at ${url} answered a page: ${html2.slice(0, 300)}`);
    }
    if (answer.status < 300 || answer.status >= 400) {
      throw new Error(`form at ${url} answered ${answer.status}: ${(await answer.text()).slice(0, 300)}`);
    }
    const next = new URL(answer.headers.get("location"), url);
    if (next.href.startsWith(redirectUri)) return next;
    url = next;
  }
  throw new Error("too many steps");
}
