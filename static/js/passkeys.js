// Passkey ceremonies (WebAuthn): the server's JSON options -> navigator.credentials ->
// JSON back to the server. Binary fields travel as base64url (WebAuthn L3 §5.1.8 JSON).
(function () {
  "use strict";

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    json.challenge = toBytes(json.challenge);
    json.user.id = toBytes(json.user.id);
    (json.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return { publicKey: json };
  }

  function requestOptions(json) {
    json.challenge = toBytes(json.challenge);
    (json.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return { publicKey: json };
  }

  function credentialJSON(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      response.userHandle = toB64url(r.userHandle);
    }
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, response: response,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  // The page's language: the partial (mfa/_passkey_button.html) carries the translated
  // messages as data-msg-* attributes; English is the fallback.
  function message(box, key, fallback) {
    return box.getAttribute("data-msg-" + key) || fallback;
  }

  function post(box, url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      var failed = message(box, "failed", "The request failed.");
      return res.json().catch(function () { return { error: failed + " (" + res.status + ")" }; })
        .then(function (data) { if (!res.ok) throw new Error(data.error || failed); return data; });
    });
  }

  function run(box) {
    var mode = box.getAttribute("data-passkey");
    var csrf = box.getAttribute("data-csrf");
    var status = box.querySelector("[data-passkey-status]");
    var button = box.querySelector("[data-passkey-start]");
    button.disabled = true;
    status.textContent = message(box, "waiting", "Waiting for your passkey…");
    post(box, box.getAttribute("data-options-url"), csrf).then(function (options) {
      return mode === "register"
        ? navigator.credentials.create(creationOptions(options))
        : navigator.credentials.get(requestOptions(options));
    }).then(function (cred) {
      var body = { credential: credentialJSON(cred) };
      if (box.getAttribute("data-next")) body.next = box.getAttribute("data-next");
      var name = box.parentNode.querySelector("[name=passkey_name]");
      if (name) body.name = name.value;
      return post(box, box.getAttribute("data-verify-url"), csrf, body);
    }).then(function (result) {
      status.textContent = message(box, "done", "Done.");
      window.location.assign(result.redirect);
    }).catch(function (err) {
      status.textContent = (err && err.name === "NotAllowedError")
        ? message(box, "cancelled", "The passkey request was cancelled or timed out.")
        : (err && err.message) || message(box, "error", "Something went wrong.");
      button.disabled = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll("[data-passkey]");
    Array.prototype.forEach.call(boxes, function (box) {
      var button = box.querySelector("[data-passkey-start]");
      if (!window.PublicKeyCredential) {
        box.querySelector("[data-passkey-status]").textContent =
          message(box, "unsupported", "This browser does not support passkeys.");
        return;
      }
      button.disabled = false;
      button.addEventListener("click", function () { run(box); });
    });
  });
})();
