/* Live sections: re-fetch a server-rendered fragment every few seconds (no library, no CDN). */
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live || !live.dataset.liveUrl) return;
  const every = Number(live.dataset.liveSeconds || 3) * 1000;
  async function refresh() {
    if (document.hidden) return;
    try {
      const response = await fetch(live.dataset.liveUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
      if (response.ok) live.innerHTML = await response.text();
    } catch (error) {
      /* offline for a moment: keep what is shown, try again */
    }
  }
  setInterval(refresh, every);
})();
