"use strict";
(function () {
  const form = document.getElementById("decide-form");
  const button = document.getElementById("sign-webauthn");
  const status = document.getElementById("decide-status");
  if (!form || !button) return;
  button.addEventListener("click", async function () {
    const W = window.SequesterWebAuthn;
    const decision = form.querySelector("input[name=decision]:checked").value;
    const role = form.elements.role ? form.elements.role.value : "";
    status.textContent = "Preparing the document to sign…";
    try {
      const challenge = await W.postJSON(form.dataset.challengeUrl, { decision: decision, reason: form.elements.reason.value, role: role });
      status.textContent = "Touch your authenticator to sign " + decision + " (document " + challenge.document_hash.slice(0, 12) + "…)";
      const credential = await navigator.credentials.get(W.requestOptions(challenge.webauthn_options));
      await W.postJSON(form.dataset.decideUrl, { challenge_id: challenge.challenge_id, webauthn: W.assertionJSON(credential) });
      status.textContent = "Decision recorded.";
      window.location.reload();
    } catch (error) {
      status.textContent = "Not recorded: " + error.message;
    }
  });
})();
