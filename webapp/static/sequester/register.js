"use strict";
(function () {
  const W = window.SequesterWebAuthn;
  // Confirm it is you with an authenticator you already have (adding or replacing a factor needs it).
  const confirmForm = document.getElementById("confirm-form");
  const confirmButton = document.getElementById("confirm-webauthn");
  if (confirmForm && confirmButton) {
    const confirmStatus = document.getElementById("confirm-status");
    confirmButton.addEventListener("click", async function () {
      confirmStatus.textContent = "Touch your authenticator…";
      try {
        const begun = await W.postJSON(confirmForm.dataset.beginUrl, {});
        const assertion = await navigator.credentials.get(W.requestOptions(begun.webauthn_options));
        await W.postJSON(confirmForm.dataset.proveUrl, { change_id: begun.change_id, webauthn: W.assertionJSON(assertion) });
        window.location.reload();
      } catch (error) {
        confirmStatus.textContent = "Not confirmed: " + error.message;
      }
    });
  }
  // Register a new authenticator under the confirmed change.
  const form = document.getElementById("register-form");
  const button = document.getElementById("register-webauthn");
  if (!form || !button) return;
  const status = document.getElementById("register-status");
  button.addEventListener("click", async function () {
    status.textContent = "Touch your authenticator…";
    try {
      const changeId = form.dataset.changeId;
      const options = await W.postJSON(form.dataset.beginUrl, { change_id: changeId });
      const credential = await navigator.credentials.create(W.creationOptions(options));
      const stored = await W.postJSON(form.dataset.finishUrl, { change_id: changeId, credential: W.registrationJSON(credential), name: form.elements.name.value });
      status.textContent = "Authenticator registered.";
      // Back to the request the person came from (the server remembered it), else this page.
      if (stored.next) window.location.assign(stored.next);
      else window.location.reload();
    } catch (error) {
      status.textContent = "Not registered: " + error.message;
    }
  });
})();
