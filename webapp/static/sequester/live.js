/* Live sections: re-fetch a server-rendered fragment every few seconds (no library, no CDN).
   A fragment may carry markers <span data-version-of="ID" data-version="V">: when V differs from the
   data-live-version of element #ID (a block with forms, e.g. the incident's Actions), that block is
   fetched again from its data-live-part-url and replaced. Blocks with forms are not re-rendered on
   every tick (a half-typed reason would be lost), only when what they offer changed. */
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live || !live.dataset.liveUrl) return;
  const every = Number(live.dataset.liveSeconds || 3) * 1000;
  async function fetchText(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
    return response.ok ? response.text() : null;
  }
  async function refreshParts() {
    for (const marker of live.querySelectorAll("[data-version-of]")) {
      const part = document.getElementById(marker.dataset.versionOf);
      if (!part || !part.dataset.livePartUrl || part.dataset.liveVersion === marker.dataset.version) continue;
      const html = await fetchText(part.dataset.livePartUrl);
      if (html === null) continue;
      part.innerHTML = html;
      part.dataset.liveVersion = marker.dataset.version;
    }
  }
  async function refresh() {
    if (document.hidden) return;
    try {
      const html = await fetchText(live.dataset.liveUrl);
      if (html !== null) live.innerHTML = html;
      await refreshParts();
    } catch (error) {
      /* offline for a moment: keep what is shown, try again */
    }
  }
  setInterval(refresh, every);
})();
