/* WebAuthn helpers: JSON options (base64url strings) <-> the browser API's ArrayBuffers. No dependencies. */
"use strict";
window.SequesterWebAuthn = (function () {
  function b64urlToBuffer(text) {
    const pad = "=".repeat((4 - (text.length % 4)) % 4);
    const binary = atob((text + pad).replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }
  function bufferToB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((data.detail || "request failed") + (data.code ? " (" + data.code + ")" : ""));
    return data;
  }
  function creationOptions(options) {
    const publicKey = Object.assign({}, options);
    publicKey.challenge = b64urlToBuffer(options.challenge);
    publicKey.user = Object.assign({}, options.user, { id: b64urlToBuffer(options.user.id) });
    publicKey.excludeCredentials = (options.excludeCredentials || []).map((c) => Object.assign({}, c, { id: b64urlToBuffer(c.id) }));
    return { publicKey: publicKey };
  }
  function requestOptions(options) {
    const publicKey = Object.assign({}, options);
    publicKey.challenge = b64urlToBuffer(options.challenge);
    publicKey.allowCredentials = (options.allowCredentials || []).map((c) => Object.assign({}, c, { id: b64urlToBuffer(c.id) }));
    return { publicKey: publicKey };
  }
  function registrationJSON(credential) {
    return {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: bufferToB64url(credential.response.clientDataJSON),
        attestationObject: bufferToB64url(credential.response.attestationObject),
        transports: credential.response.getTransports ? credential.response.getTransports() : [],
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }
  function assertionJSON(credential) {
    return {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: bufferToB64url(credential.response.clientDataJSON),
        authenticatorData: bufferToB64url(credential.response.authenticatorData),
        signature: bufferToB64url(credential.response.signature),
        userHandle: credential.response.userHandle ? bufferToB64url(credential.response.userHandle) : null,
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }
  return { postJSON, creationOptions, requestOptions, registrationJSON, assertionJSON };
})();
