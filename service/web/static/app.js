// Varistore's dashboard: live values over the gateway's WebSocket, and ages that tick. No build step;
// the pages work without it, only less alive.
"use strict";

(function () {
  const body = document.body;

  function age(seconds) {
    if (seconds < 0) seconds = 0;
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return Math.floor(seconds / 86400) + " d ago";
  }

  let skew = 0; // server time minus this browser's, from the last answer
  function tick() {
    const now = Math.floor(Date.now() / 1000) + skew;
    document.querySelectorAll("time[data-time]").forEach(function (el) {
      el.textContent = age(now - Number(el.dataset.time));
    });
  }
  setInterval(tick, 1000);

  // A chart is drawn as wide as it shows (its text stays readable on a phone), and in this browser's
  // time zone unless someone chose one.
  // Turned or resized, it is drawn again once its width changed by more than a sixth.
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  function fitCharts(first) {
    document.querySelectorAll("img[data-chart]").forEach(function (img) {
      const url = new URL(img.getAttribute("src"), location.href);
      const width = Math.round(img.clientWidth);
      const drawn = Number(url.searchParams.get("w")) || Number(img.getAttribute("width"));
      if (!first && (!width || Math.abs(width - drawn) <= drawn / 6)) return;
      if (width) url.searchParams.set("w", String(width));
      if (first && !img.dataset.zoneGiven && zone && zone !== "UTC") {
        url.searchParams.set("tz", zone);
        const field = document.getElementById("tz");
        if (field) field.value = zone;
      }
      img.src = url.pathname + url.search;
    });
  }
  fitCharts(true);
  let resizing = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(fitCharts, 250, false);
  });

  if (!("live" in body.dataset) || !("WebSocket" in window)) return;
  const state = document.querySelector("[data-live-state]");
  function say(text, offline) {
    if (!state) return;
    state.textContent = text;
    state.classList.toggle("offline", !!offline);
  }

  async function reread() {
    const answer = await fetch("/app/variables.json", { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) return;
    const data = await answer.json();
    skew = data.current - Math.floor(Date.now() / 1000);
    data.list.forEach(function (v) {
      document.querySelectorAll('[data-value-of="' + v.id + '"]').forEach(function (el) {
        if (v.value !== "" && el.textContent !== v.value) el.textContent = v.value;
      });
      document.querySelectorAll('[data-percent-of="' + v.id + '"]').forEach(function (el) {
        if (v.percent !== null) el.textContent = v.percent + " %";
      });
      document.querySelectorAll('[data-time-of="' + v.id + '"]').forEach(function (el) {
        if (v.value !== "") el.dataset.time = v.time;
      });
    });
    tick();
  }

  let delay = 1000;
  async function connect() {
    let answer;
    try {
      answer = await fetch("/app/socket-token", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": body.dataset.csrf },
      });
    } catch (e) { answer = null; }
    if (!answer || !answer.ok || answer.redirected) {
      say("Live updates are off: reload the page.", true);
      if (answer && (answer.status === 401 || answer.status === 403 || answer.redirected)) return;
      setTimeout(connect, delay); delay = Math.min(delay * 2, 30000);
      return;
    }
    const grant = await answer.json();
    const ws = new WebSocket(grant.url);
    let pinger = null;
    ws.onopen = function () { ws.send("key " + grant.token); };
    ws.onmessage = function (event) {
      if (event.data === "ok") {
        delay = 1000;
        say("Values update live.");
        pinger = setInterval(function () { ws.send("ping"); }, 20000);
        reread();
      } else if (event.data === "refresh") {
        reread();
      }
    };
    ws.onclose = function () {
      if (pinger) clearInterval(pinger);
      say("Reconnecting…", true);
      setTimeout(connect, delay); delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
