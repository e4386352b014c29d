// crawlhost status page: refresh in place and send the buttons' POSTs.
// Served from /assets/page.js (the page's Content-Security-Policy allows no
// inline script). Without it the page is static and the buttons are forms.
"use strict";
(function () {
  const every = (Number(document.body.dataset.refresh) || 5) * 1000;
  let busy = false;

  function notice(text, ok) {
    const n = document.getElementById("notice");
    n.textContent = text;
    n.className = ok ? "ok" : "error";
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const resp = await fetch(location.pathname, { credentials: "same-origin", cache: "no-store" });
      if (!resp.ok) { notice("refresh failed: HTTP " + resp.status, false); return; }
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      const fresh = doc.getElementById("content");
      const main = document.getElementById("content");
      if (!fresh || !main) return;
      // Keep open what the operator opened.
      const open = new Set([...main.querySelectorAll("details[open]")].map((d) => d.id));
      main.replaceWith(fresh);
      for (const id of open) { const d = id && document.getElementById(id); if (d) d.open = true; }
    } catch (e) {
      notice("refresh failed: " + e, false);
    } finally {
      busy = false;
    }
  }

  document.addEventListener("submit", async (ev) => {
    const form = ev.target;
    if (!form.classList || !form.classList.contains("act")) return;
    ev.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    try {
      const resp = await fetch(form.action, {
        method: "POST", credentials: "same-origin", headers: { Accept: "application/json" },
      });
      let body = {};
      try { body = await resp.json(); } catch (_) { /* not JSON */ }
      if (resp.ok) {
        const what = body.started ? "started " + body.started
          : body.paused ? "paused " + body.paused
          : body.resumed ? "resumed " + body.resumed : "done";
        notice(what, true);
      } else {
        notice(body.error || "HTTP " + resp.status, false);
      }
    } catch (e) {
      notice(String(e), false);
    }
    await refresh();
  });

  setInterval(refresh, every);
})();
