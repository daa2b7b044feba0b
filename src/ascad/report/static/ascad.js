// ascad /ui/: the page is complete without this script (the server renders it, filters and
// sorts); the script only makes it live. Every few seconds (data-refresh on #live) it asks the
// same URL with fragment=1 and swaps in the server's new HTML; changing a filter does the same at
// once and keeps the address bar in step. One request at a time, each aborted after 15 s; after
// a failure it waits twice as long (at most 5 minutes); nothing is asked while the tab is hidden.
// No value is ever inserted as markup by the script: the fragment is the server's escaped HTML.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var form = document.getElementById("filters");
  var note = document.getElementById("live-note");
  if (!live || !form || !window.fetch || !window.DOMParser) { return; }
  var every = parseFloat(live.getAttribute("data-refresh")) || 0;
  var delay = every * 1000;
  var timer = null;
  var busy = false;
  var stopped = false;

  function query() {
    var params = new URLSearchParams();
    var data = new FormData(form);
    data.forEach(function (value, key) {
      if (value && !(key === "sort" && value === "state")) { params.set(key, value); }
    });
    return params;
  }

  function say(text) { if (note) { note.textContent = text; } }

  function schedule(ms) {
    if (timer) { clearTimeout(timer); }
    timer = (stopped || !every) ? null : setTimeout(refresh, ms);
  }

  function refresh() {
    timer = null;
    if (busy || stopped) { return; }
    if (document.hidden) { schedule(delay); return; }
    busy = true;
    var params = query();
    params.set("fragment", "1");
    var ctl = new AbortController();
    var guard = setTimeout(function () { ctl.abort(); }, 15000);
    fetch("./?" + params.toString(), {
      credentials: "same-origin", cache: "no-store", redirect: "manual", signal: ctl.signal,
      headers: { "Accept": "text/html" }
    }).then(function (r) {
      if (r.status === 401 || r.type === "opaqueredirect") {
        stopped = true;
        say("logged out: reload the page to log in again");
        throw new Error("unauthorized");
      }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      live.replaceChildren.apply(live, Array.prototype.slice.call(doc.body.childNodes));
      delay = every * 1000;
      say("updated " + new Date().toLocaleTimeString() + "; next in " + every + " s");
      document.dispatchEvent(new CustomEvent("ascad:updated"));
    }).catch(function (err) {
      if (stopped) { return; }
      delay = Math.min(delay * 2, 300000);
      say("could not update (" + err.message + "); trying again in " + Math.round(delay / 1000) + " s");
    }).then(function () {
      clearTimeout(guard);
      busy = false;
      schedule(delay);
    });
  }

  function apply(event) {
    if (event) { event.preventDefault(); }
    var params = query().toString();
    history.replaceState(null, "", "./" + (params ? "?" + params : ""));
    if (busy) { schedule(200); } else { refresh(); }
  }

  form.addEventListener("submit", apply);
  form.addEventListener("change", apply);
  var typing = null;
  form.addEventListener("input", function () {
    if (typing) { clearTimeout(typing); }
    typing = setTimeout(apply, 300);
  });
  // the state chips filter, and the column headers sort, in place too
  live.addEventListener("click", function (event) {
    if (!event.target.closest) { return; }
    var chip = event.target.closest("#counts a");
    var sorter = event.target.closest("a[data-sort]");
    if (chip) {
      form.elements.state.value = chip.getAttribute("data-state") || "";
    } else if (sorter) {
      form.elements.sort.value = sorter.getAttribute("data-sort");
    } else {
      return;
    }
    event.preventDefault();
    apply();
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !timer && !busy) { schedule(0); }
  });
  schedule(delay);
})();
