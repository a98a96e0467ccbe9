// The acknowledgement link carries its token after "#": move it into the form, then out of the address bar.
(function () {
  var code = window.location.hash.slice(1);
  if (!code) {
    return;
  }
  document.getElementById("ack-token").value = decodeURIComponent(code);
  document.getElementById("ack-token-row").hidden = true;
  window.history.replaceState(null, "", window.location.pathname);
})();
