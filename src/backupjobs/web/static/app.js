// backupjobs dashboard: progressive enhancement. Every page works without this file;
// it adds local times, search as you type, live updates (ETag polling) and charts.
"use strict";

(function () {
  const dateTime = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });

  // Times arrive in UTC (readable without JavaScript); show them in the viewer's zone.
  function localTimes(root) {
    for (const element of root.querySelectorAll("time[datetime]")) {
      const moment = new Date(element.getAttribute("datetime"));
      if (!Number.isNaN(moment.getTime()) && element.dataset.kind !== "date") {
        element.textContent = dateTime.format(moment);
        element.title = element.getAttribute("datetime");
      }
    }
  }

  // Search as you type: a form marked data-live-search submits itself after a pause,
  // and the region it names is replaced by the same region of the answer.
  function liveSearch(form) {
    const target = document.getElementById(form.dataset.liveSearch);
    let timer = null;
    let controller = null;
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (controller) controller.abort();
        controller = new AbortController();
        const url = new URL(form.action, location.href);
        for (const [name, value] of new FormData(form)) {
          if (value) url.searchParams.append(name, value);
        }
        try {
          const answer = await fetch(url, { signal: controller.signal, credentials: "same-origin" });
          if (!answer.ok) return;
          replaceRegion(target, await answer.text());
          history.replaceState(null, "", url);
        } catch (error) {
          if (error.name !== "AbortError") throw error;
        }
      }, 250);
    });
  }

  function replaceRegion(target, html) {
    const page = new DOMParser().parseFromString(html, "text/html");
    const fresh = page.getElementById(target.id);
    if (fresh) {
      target.replaceChildren(...fresh.childNodes);
      localTimes(target);
      document.dispatchEvent(new CustomEvent("dashboard:updated", { detail: target }));
    }
  }

  // Live updates: poll the region's URL with If-None-Match; 304 until something changed.
  function livePoll(region) {
    const every = Number(region.dataset.pollSeconds || "10") * 1000;
    let etag = region.dataset.etag || null;
    const status = document.getElementById(region.dataset.pollStatus || "");
    async function poll() {
      if (document.visibilityState === "visible") {
        const headers = etag ? { "If-None-Match": etag } : {};
        try {
          const answer = await fetch(region.dataset.pollUrl || location.href,
            { headers, credentials: "same-origin", cache: "no-cache" });
          if (answer.status === 200) {
            etag = answer.headers.get("ETag");
            replaceRegion(region, await answer.text());
            if (status) status.textContent = "Updated " + dateTime.format(new Date());
          } else if (answer.status === 303 || answer.redirected) {
            location.reload();
          }
        } catch (error) {
          if (status) status.textContent = "Offline: retrying";
        }
      }
      setTimeout(poll, every);
    }
    setTimeout(poll, every);
  }

  // The server draws day-based figures (the overview's strip, the charts) in this zone.
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) document.cookie = "bj_tz=" + encodeURIComponent(zone) + "; path=/dashboard; SameSite=Lax";
  } catch (error) { /* UTC, then */ }

  document.addEventListener("DOMContentLoaded", () => {
    localTimes(document);
    for (const form of document.querySelectorAll("form[data-live-search]")) liveSearch(form);
    for (const region of document.querySelectorAll("[data-poll-url]")) livePoll(region);
  });
})();
