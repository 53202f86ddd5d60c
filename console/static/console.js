// Portolan console: progressive enhancement only; every page works without it.
// The map page subscribes to /ui/events (Server-Sent Events) and patches the
// status of its rows and the counts in place, so a change shows without a
// reload; when the page's set of instances changes it fetches the page again
// and swaps the live region.
(function () {
  "use strict";

  function liveMap() {
    var live = document.getElementById("map-live");
    if (!live || !window.EventSource) { return; }
    var source = new EventSource(live.getAttribute("data-events"));
    var refetching = false;

    function note(text) {
      var el = document.getElementById("map-live-note");
      if (el) { el.textContent = text; }
    }

    function refetch() {
      if (refetching) { return; }
      refetching = true;
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html", "X-Portolan-Live": "1" } })
        .then(function (resp) {
          if (!resp.ok || resp.redirected) { throw new Error("status " + resp.status); }
          return resp.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("map-live");
          var cur = document.getElementById("map-live");
          if (fresh && cur) { cur.innerHTML = fresh.innerHTML; }
        })
        .catch(function () { note("The map changed; reload the page to see it."); })
        .then(function () { refetching = false; });
    }

    function setCounts(u) {
      var total = document.querySelector("[data-total]");
      if (total) { total.textContent = u.total + " instance" + (u.total === 1 ? "" : "s"); }
      Object.keys(u.counts).forEach(function (st) {
        var el = document.querySelector('[data-count="' + st + '"] .n');
        if (el) { el.textContent = String(u.counts[st]); }
      });
      Object.keys(u.groups || {}).forEach(function (name) {
        var el = document.querySelector('[data-group-total="' + CSS.escape(name) + '"]');
        var n = u.groups[name];
        if (el) { el.textContent = n + " instance" + (n === 1 ? "" : "s"); }
      });
    }

    function patchRows(u) {
      var missing = false;
      u.rows.forEach(function (row) {
        var tr = document.querySelector('tr[data-id="' + CSS.escape(row.id) + '"]');
        if (!tr) { missing = true; return; }
        var cell = tr.querySelector("[data-status]");
        if (cell && cell.textContent !== row.status) {
          cell.textContent = row.status;
          cell.className = "status status-" + row.status;
        }
        var ageCell = tr.querySelector("[data-age]");
        if (ageCell) { ageCell.textContent = row.age; }
      });
      return missing;
    }

    // stale marks the map as possibly out of date (the stylesheet outlines
    // its tables; opacity would cost the text its contrast) and says why;
    // the next update clears the mark.
    function stale(text) {
      live.classList.add("stale");
      note(text);
    }
    var lost = false; // contact was lost and not yet regained: keep saying since when

    source.addEventListener("map", function (ev) {
      var u = JSON.parse(ev.data);
      if (live.classList.contains("stale")) {
        live.classList.remove("stale");
        lost = false;
        note("Back in contact with home at " + new Date().toLocaleTimeString() + ": updated live.");
      }
      setCounts(u);
      var missing = patchRows(u);
      if (u.full) {
        // The page was drawn before this stream began (at load, or before
        // a reconnection): its rows, or its pager, may be out of date.
        var shown = document.querySelectorAll("tr[data-id]").length;
        var pages = document.querySelector("[data-pages]");
        if (missing || shown !== u.rows.length || (pages && pages.getAttribute("data-pages") !== String(u.pages))) { refetch(); }
        return;
      }
      if (u.stale || missing) { refetch(); return; }
      if (u.rows.length === 0) { return; } // counts alone: instances beyond the page
      note(u.rows.length + " instance" + (u.rows.length === 1 ? "" : "s") + " changed status at " +
        new Date().toLocaleTimeString() + ".");
    });
    source.addEventListener("signedout", function () {
      source.close();
      stale("Your session ended: reload the page to log in again.");
    });
    // The browser retries a dropped stream by itself (CONNECTING) and gives
    // up on a refused one (CLOSED: home answered it with an error, as it
    // does once the session is gone, and a restart of home ends every
    // session). Either way what is on screen has stopped being live, and
    // the page says so rather than leave "Updated live." over statuses
    // that may be stale.
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        stale("Live updates stopped: home refused them (the session may have ended, as a restart of home " +
          "ends every session). Reload the page to resume them.");
        return;
      }
      if (lost) { return; } // a retry that failed too
      lost = true;
      stale("Lost contact with home at " + new Date().toLocaleTimeString() +
        ": what is shown may be out of date. Reconnecting…");
    };
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", liveMap);
  } else {
    liveMap();
  }
})();
