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
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
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
      Object.keys(u.counts).forEach(function (st) {
        var el = document.querySelector('[data-count="' + st + '"] .n');
        if (el) { el.textContent = String(u.counts[st]); }
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

    source.addEventListener("map", function (ev) {
      var u = JSON.parse(ev.data);
      setCounts(u);
      var missing = patchRows(u);
      if (u.full) {
        var shown = document.querySelectorAll("tr[data-id]").length;
        if (missing || shown !== u.rows.length) { refetch(); }
        return;
      }
      if (u.stale || missing) { refetch(); return; }
      note(u.rows.length + " instance" + (u.rows.length === 1 ? "" : "s") + " changed status at " +
        new Date().toLocaleTimeString() + ".");
    });
    source.addEventListener("signedout", function () {
      source.close();
      note("Your session ended: reload the page to log in again.");
    });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        note("Live updates stopped; reload the page to resume them.");
      }
    };
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", liveMap);
  } else {
    liveMap();
  }
})();
