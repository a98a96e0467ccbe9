"use strict";
(function () {
  const form = document.getElementById("register-form");
  const button = document.getElementById("register-webauthn");
  const status = document.getElementById("register-status");
  if (!form || !button) return;
  button.addEventListener("click", async function () {
    const W = window.SequesterWebAuthn;
    status.textContent = "Touch your authenticator…";
    try {
      const options = await W.postJSON(form.dataset.beginUrl, {});
      const credential = await navigator.credentials.create(W.creationOptions(options));
      await W.postJSON(form.dataset.finishUrl, { credential: W.registrationJSON(credential), name: form.elements.name.value });
      status.textContent = "Authenticator registered.";
      window.location.reload();
    } catch (error) {
      status.textContent = "Not registered: " + error.message;
    }
  });
})();
