// pyajs demo page: the UI around the library (web/demo.html). Not part of pyajs itself.
//
// The page loads the snippet, then `analytics.load("pyajs-demo-key"); analytics.page();`
// before Python is ready (the page call waits in the snippet's queue). This script shows
// the identity state, the raw cookies / localStorage and the collector's log, refreshed
// every 500 ms and right after each action.
//
// Stable hooks for end-to-end tests (each element's id; repeated rows carry data-testid):
//   #status              "loading Python…" until analytics.ready() fires, then "ready in X s";
//                        data-state="loading" | "ready"
//   #runtime             the Python runtime the page runs: what it asked for until ready,
//                        then the one whose files it fetched ("MicroPython" | "Pyodide");
//                        #runtime-switch links to the page on the other one
//   #anonymous-id        analytics.user().anonymousId()   ("—" before ready, "null" if none)
//   #user-id             analytics.user().id()
//   #user-traits         analytics.user().traits() as pretty JSON
//   #group-id            analytics.group().id()
//   #group-traits        analytics.group().traits() as pretty JSON
//   #cookies             <tbody>, one tr[data-testid="cookie"][data-name] per cookie,
//                        cells td.name / td.value (raw, undecoded); a tr.empty when none
//   #storage             <tbody>, one tr[data-testid="storage-entry"][data-key] per
//                        localStorage key, cells td.name / td.value (raw); a tr.empty when none
//   #events              <ol>, newest first: li[data-testid="event"][data-id][data-type]
//                        with .ev-type .ev-name .ev-user-id .ev-anonymous-id .ev-message-id
//                        .ev-timestamp .ev-meta and details > pre.ev-json (the whole event)
//   #event-count         "N events" shown in #events
//   #events-error        collector unreachable / error message (hidden when fine)
//   #last-action         the last call made, as code, or its error (class "failed")
// Forms (submit with the button or Enter in an input; invalid JSON shows #<form>-error
// and sends nothing, until the text is fixed; an empty JSON box means {}):
//   identify: #identify-user-id, #identify-traits, #identify-error, #btn-identify
//   track:    #track-event, #track-properties, #track-error, #btn-track
//   page:     #page-name, #page-error, #btn-page
//   group:    #group-id-input, #group-traits-input, #group-error, #btn-group
//   alias:    #alias-to, #alias-error, #btn-alias
//   setAnonymousId: #set-anonymous-id, #set-anonymous-id-error, #btn-set-anonymous-id
// Buttons: #btn-reset (analytics.reset()), #btn-clear-cookies (expire every cookie for
//   this path on the host and its parent domains), #btn-clear-storage (localStorage.clear()),
//   #btn-clear-both (both at once), #btn-reload (location.reload()),
//   #btn-clear-log (DELETE /api/events).
// Consent (only with ?consent=ask): #consent-banner (shown until answered) with
//   #btn-consent-accept / #btn-consent-decline (analytics.consent({Analytics: true|false}),
//   the answer kept in localStorage "demo-consent"); #consent-state shows it, with
//   #btn-consent-change to reopen the banner.
//
// All text that comes from events, cookies, storage or inputs goes in through textContent.
(function () {
  "use strict";

  const POLL_MS = 500;
  const MAX_EVENTS_SHOWN = 300;
  const DASH = "—";

  const $ = (id) => document.getElementById(id);

  // ---- status ----------------------------------------------------------------------------
  let ready = false;
  const statusEl = $("status");

  function isLive() {
    return !!(window.analytics && window.analytics.initialized);
  }

  // The runtime: the one asked for (pyajs's default is MicroPython), then, once ready, the
  // one whose files the page actually fetched.
  const RUNTIME_NAMES = { py: "Pyodide", pyodide: "Pyodide", mpy: "MicroPython",
                          micropython: "MicroPython" };
  function showRuntime(name) {
    $("runtime").textContent = name;
    const other = name === "Pyodide" ? "mpy" : "py";
    const link = $("runtime-switch");
    link.href = "?runtime=" + other + (ASK_CONSENT ? "&consent=ask" : "");
    link.textContent = "run it on " + RUNTIME_NAMES[other];
  }
  function fetchedRuntime() {
    const urls = performance.getEntriesByType("resource").map((e) => e.name);
    if (urls.some((u) => u.includes("/vendor/pyodide/"))) return "Pyodide";
    if (urls.some((u) => u.includes("/vendor/micropython/"))) return "MicroPython";
    return null;
  }
  const ASK_CONSENT = new URLSearchParams(location.search).get("consent") === "ask";
  const asked = new URLSearchParams(location.search).get("runtime");
  showRuntime(RUNTIME_NAMES[asked] || "MicroPython");

  // Registered through the snippet's queue; pyajs replays it once Python is up.
  window.analytics.ready(function () {
    ready = true;
    statusEl.textContent = "ready in " + (performance.now() / 1000).toFixed(2) + " s";
    statusEl.dataset.state = "ready";
    const fetched = fetchedRuntime();
    if (fetched) showRuntime(fetched);
    refreshNow();
  });

  setTimeout(function () {
    if (!ready) {
      statusEl.textContent = "loading Python… (still loading after 30 s: see the console)";
      statusEl.dataset.state = "slow";
    }
  }, 30000);

  // ---- helpers ---------------------------------------------------------------------------
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Set text; flash the element when the value changed after the first render.
  function setText(node, text, isNull) {
    if (node.textContent === text) return;
    const first = !node.dataset.rendered;
    node.textContent = text;
    node.dataset.rendered = "1";
    node.classList.toggle("null", !!isNull);
    node.classList.toggle("pending", text === DASH);
    if (!first) flash(node);
  }

  function flash(node) {
    node.classList.remove("flash");
    void node.offsetWidth; // restart the animation
    node.classList.add("flash");
  }

  function show(value) {
    if (value === undefined || value === null) return "null";
    if (typeof value === "string") return value;
    return JSON.stringify(value, null, 2);
  }

  function callText(method, args) {
    // JSON for the arguments: a readable, faithful echo of what was passed.
    return "analytics." + method + "(" + args.map((a) =>
      a === undefined ? "undefined" : JSON.stringify(a)).join(", ") + ")";
  }

  const lastActionEl = $("last-action");
  function noteAction(text, failed) {
    lastActionEl.textContent = text;
    lastActionEl.classList.toggle("failed", !!failed);
    flash(lastActionEl);
  }

  // ---- identity panel --------------------------------------------------------------------
  const identity = {
    anonymousId: $("anonymous-id"),
    userId: $("user-id"),
    userTraits: $("user-traits"),
    groupId: $("group-id"),
    groupTraits: $("group-traits"),
  };

  function readIdentity() {
    const a = window.analytics;
    const user = a.user();
    const group = a.group();
    return {
      // anonymousId() makes one if there is none: that is the library's rule, shown live.
      anonymousId: user.anonymousId(),
      userId: user.id(),
      userTraits: user.traits(),
      groupId: group.id(),
      groupTraits: group.traits(),
    };
  }

  let identityError = null;
  function refreshIdentity() {
    if (!isLive()) {
      for (const key in identity) setText(identity[key], DASH);
      return;
    }
    let state;
    try {
      state = readIdentity();
      identityError = null;
    } catch (err) {
      const msg = "reading identity failed: " + (err && err.message || err);
      if (msg !== identityError) {
        identityError = msg;
        noteAction(msg, true);
      }
      return;
    }
    for (const key in identity) {
      const value = state[key];
      setText(identity[key], show(value), value === null || value === undefined);
    }
  }

  // ---- cookies / localStorage ------------------------------------------------------------
  function cookieEntries() {
    const raw = document.cookie;
    if (!raw) return [];
    return raw.split(";").map((part) => {
      const text = part.replace(/^\s+/, "");
      const eq = text.indexOf("=");
      return eq < 0 ? ["", text] : [text.slice(0, eq), text.slice(eq + 1)];
    }).filter(([name, value]) => name !== "" || value !== "");
  }

  function storageEntries() {
    const out = [];
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const key = localStorage.key(i);
        out.push([key, localStorage.getItem(key)]);
      }
    } catch (err) {
      out.push(["(localStorage unavailable)", String(err && err.message || err)]);
    }
    out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    return out;
  }

  // Re-render a key/value tbody only when something changed; flash the changed rows.
  function renderKv(tbody, entries, testid, attr, emptyText) {
    const sig = JSON.stringify(entries);
    if (tbody.dataset.sig === sig) return;
    const previous = {};
    for (const row of tbody.querySelectorAll("tr[data-testid]")) {
      previous[row.getAttribute(attr)] = row.querySelector(".value").textContent;
    }
    const first = tbody.dataset.sig === undefined;
    tbody.dataset.sig = sig;
    tbody.replaceChildren();
    if (!entries.length) {
      const tr = el("tr", "empty");
      const td = el("td", null, emptyText);
      td.colSpan = 2;
      tr.appendChild(td);
      tbody.appendChild(tr);
      return;
    }
    for (const [name, value] of entries) {
      const tr = el("tr");
      tr.dataset.testid = testid;
      tr.setAttribute(attr, name);
      tr.appendChild(el("td", "name", name));
      tr.appendChild(el("td", "value", value === null ? "null" : value));
      if (!first && previous[name] !== value) tr.classList.add("flash");
      tbody.appendChild(tr);
    }
  }

  function refreshStores() {
    renderKv($("cookies"), cookieEntries(), "cookie", "data-name", "no cookies");
    renderKv($("storage"), storageEntries(), "storage-entry", "data-key", "localStorage is empty");
  }

  // ---- collector log ---------------------------------------------------------------------
  const eventsEl = $("events");
  const eventsErrorEl = $("events-error");
  const eventsEmptyEl = $("events-empty");
  const eventCountEl = $("event-count");
  let lastEventId = 0;
  let shownCount = 0;
  let polling = false;
  let pollAgain = false;

  function eventName(ev) {
    switch (ev.type) {
      case "track": return ev.event;
      case "page":
      case "screen": {
        const parts = [ev.category, ev.name].filter((x) => x !== undefined && x !== null);
        return parts.length ? parts.join(" / ") : "(no name)";
      }
      case "group": return "groupId: " + show(ev.groupId);
      case "alias": return show(ev.previousId) + " → " + show(ev.userId);
      case "identify": {
        const keys = ev.traits && typeof ev.traits === "object" ? Object.keys(ev.traits) : [];
        return keys.length ? "traits: " + keys.join(", ") : "(no traits)";
      }
      default: return "";
    }
  }

  function field(label, value, className) {
    const wrap = el("span", "f " + className);
    wrap.appendChild(el("span", "k", label));
    const v = el("span", "v", value === undefined || value === null ? "null" : value);
    if (value === undefined || value === null) v.classList.add("null");
    wrap.appendChild(v);
    return wrap;
  }

  function eventRow(record) {
    const ev = record.event && typeof record.event === "object" ? record.event : {};
    const type = record.type || ev.type || "?";
    const li = el("li", "event type-" + String(type).replace(/[^a-z]/gi, ""));
    li.dataset.testid = "event";
    li.dataset.id = String(record.id);
    li.dataset.type = String(type);

    const head = el("div", "ev-head");
    head.appendChild(el("span", "ev-type", type));
    head.appendChild(el("span", "ev-name", eventName(ev)));
    head.appendChild(el("span", "ev-timestamp", ev.timestamp === undefined ? "" : ev.timestamp));
    li.appendChild(head);

    const ids = el("div", "ev-ids");
    ids.appendChild(field("userId", ev.userId, "ev-user-id"));
    ids.appendChild(field("anonymousId", ev.anonymousId, "ev-anonymous-id"));
    ids.appendChild(field("messageId", ev.messageId, "ev-message-id"));
    li.appendChild(ids);

    const meta = [
      "#" + record.id,
      "received " + (record.receivedAt || "?"),
      record.path || "",
      record.writeKey && record.writeKey !== "pyajs-demo-key" ? "writeKey " + record.writeKey : "",
      record.retryCount ? "retry " + record.retryCount : "",
    ].filter(Boolean).join(" · ");
    li.appendChild(el("div", "ev-meta", meta));

    const details = el("details", "ev-details");
    details.appendChild(el("summary", null, "JSON"));
    details.appendChild(el("pre", "ev-json", JSON.stringify(ev, null, 2)));
    li.appendChild(details);
    return li;
  }

  function updateCount() {
    eventCountEl.textContent = shownCount + (shownCount === 1 ? " event" : " events");
    eventsEmptyEl.hidden = shownCount > 0;
  }

  async function pollEvents() {
    if (polling) {
      pollAgain = true;
      return;
    }
    polling = true;
    try {
      do {
        pollAgain = false;
        const resp = await fetch("/api/events?after=" + lastEventId, { cache: "no-store" });
        if (!resp.ok) throw new Error("GET /api/events: HTTP " + resp.status);
        const data = await resp.json();
        const events = Array.isArray(data.events) ? data.events : [];
        for (const record of events) {
          if (typeof record.id === "number" && record.id > lastEventId) lastEventId = record.id;
          const row = eventRow(record);
          if (!eventsEl.dataset.primed) row.classList.add("no-flash");
          eventsEl.insertBefore(row, eventsEl.firstChild);
          shownCount++;
        }
        while (eventsEl.children.length > MAX_EVENTS_SHOWN) {
          eventsEl.removeChild(eventsEl.lastChild);
        }
        eventsEl.dataset.primed = "1";
        if (events.length) updateCount();
        eventsErrorEl.hidden = true;
      } while (pollAgain);
    } catch (err) {
      eventsErrorEl.textContent = "collector not reachable: " + (err && err.message || err);
      eventsErrorEl.hidden = false;
    } finally {
      polling = false;
    }
  }

  async function clearLog() {
    try {
      const resp = await fetch("/api/events", { method: "DELETE" });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      const data = await resp.json().catch(() => ({}));
      // Ids keep increasing after a clear, so lastEventId stays as it is.
      eventsEl.replaceChildren();
      shownCount = 0;
      updateCount();
      noteAction("DELETE /api/events → " + (data.deleted ?? "?") + " deleted");
    } catch (err) {
      noteAction("DELETE /api/events failed: " + (err && err.message || err), true);
    }
  }

  // ---- refresh loop ----------------------------------------------------------------------
  function refreshNow() {
    refreshIdentity();
    refreshStores();
    pollEvents();
  }

  // ---- controls --------------------------------------------------------------------------
  // A JSON object from a textarea, or null after showing the error inline.
  function jsonObject(textarea, errorEl) {
    const text = textarea.value.trim();
    let value = {};
    let problem = null;
    if (text) {
      try {
        value = JSON.parse(text);
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          problem = "must be a JSON object like {\"key\": \"value\"}";
        }
      } catch (err) {
        problem = "invalid JSON: " + err.message;
      }
    }
    if (problem) {
      showError(errorEl, textarea, problem);
      return null;
    }
    clearError(errorEl, textarea);
    return value;
  }

  function showError(errorEl, input, message) {
    errorEl.textContent = message;
    errorEl.hidden = false;
    if (input) input.setAttribute("aria-invalid", "true");
  }

  function clearError(errorEl, input) {
    errorEl.textContent = "";
    errorEl.hidden = true;
    if (input) input.removeAttribute("aria-invalid");
  }

  // A JSON box whose error is showing is checked again as it is edited: the message goes
  // (or changes) with the text.
  for (const [boxId, errorId] of [["identify-traits", "identify-error"],
                                  ["track-properties", "track-error"],
                                  ["group-traits-input", "group-error"]]) {
    const box = $(boxId);
    box.addEventListener("input", function () {
      if (box.getAttribute("aria-invalid") === "true") jsonObject(box, $(errorId));
    });
  }

  // Call analytics[method](...args) through whatever window.analytics is right now (the
  // snippet's queue before ready, the live library after) and echo it.
  function call(method, args) {
    const text = callText(method, args);
    try {
      window.analytics[method].apply(window.analytics, args);
      noteAction(isLive() ? text : text + "  (queued: Python is still loading)");
      return true;
    } catch (err) {
      noteAction(text + " threw: " + (err && err.message || err), true);
      return false;
    }
  }

  function onSubmit(formId, handler) {
    $(formId).addEventListener("submit", function (event) {
      event.preventDefault();
      handler();
      refreshNow();
    });
  }

  onSubmit("form-identify", function () {
    const errorEl = $("identify-error");
    const traits = jsonObject($("identify-traits"), errorEl);
    if (!traits) return;
    const userId = $("identify-user-id").value.trim();
    call("identify", userId ? [userId, traits] : [traits]);
  });

  onSubmit("form-track", function () {
    const errorEl = $("track-error");
    const nameInput = $("track-event");
    const name = nameInput.value;
    const properties = jsonObject($("track-properties"), errorEl);
    if (!properties) return;
    if (!name.trim()) {
      showError(errorEl, nameInput, "enter an event name");
      return;
    }
    nameInput.removeAttribute("aria-invalid");
    call("track", [name, properties]);
  });

  onSubmit("form-page", function () {
    const name = $("page-name").value.trim();
    clearError($("page-error"));
    call("page", name ? [name] : []);
  });

  onSubmit("form-group", function () {
    const errorEl = $("group-error");
    const idInput = $("group-id-input");
    const traits = jsonObject($("group-traits-input"), errorEl);
    if (!traits) return;
    const groupId = idInput.value.trim();
    if (!groupId) {
      showError(errorEl, idInput, "enter a groupId");
      return;
    }
    idInput.removeAttribute("aria-invalid");
    call("group", [groupId, traits]);
  });

  onSubmit("form-alias", function () {
    const errorEl = $("alias-error");
    const input = $("alias-to");
    const to = input.value.trim();
    if (!to) {
      showError(errorEl, input, "enter the new id");
      return;
    }
    clearError(errorEl, input);
    call("alias", [to]);
  });

  onSubmit("form-set-anonymous-id", function () {
    const errorEl = $("set-anonymous-id-error");
    const input = $("set-anonymous-id");
    const value = input.value.trim();
    if (!value) {
      showError(errorEl, input, "enter an anonymousId");
      return;
    }
    clearError(errorEl, input);
    call("setAnonymousId", [value]);
  });

  function onClick(id, handler) {
    $(id).addEventListener("click", function () {
      handler();
      refreshNow();
    });
  }

  // Expire every visible cookie for each path prefix of this page, host-only and on the
  // host and each parent domain (the library writes ids on the highest domain that takes
  // them). Cookies of other paths or HttpOnly ones cannot be seen from here.
  function clearCookies() {
    const names = cookieEntries().map(([name]) => name);
    const host = location.hostname;
    const domains = [null];
    const isIp = /^[\d.]+$/.test(host) || host.includes(":") || host.startsWith("[");
    if (!isIp) {
      const parts = host.split(".");
      const last = Math.max(parts.length - 2, 0);
      for (let i = 0; i <= last; i++) domains.push(parts.slice(i).join("."));
    }
    const paths = ["/"];
    const segments = location.pathname.split("/").filter(Boolean);
    for (let i = 1; i <= segments.length; i++) {
      paths.push("/" + segments.slice(0, i).join("/"));
    }
    const expired = "=; expires=Thu, 01 Jan 1970 00:00:00 GMT; max-age=0";
    for (const name of names) {
      for (const path of paths) {
        for (const domain of domains) {
          document.cookie = name + expired + "; path=" + path +
            (domain ? "; domain=" + domain : "");
        }
      }
    }
    const left = cookieEntries().length;
    return "cleared " + names.length + " cookie" + (names.length === 1 ? "" : "s") +
      (left ? " (" + left + " could not be removed from here)" : "");
  }

  function clearStorage() {
    const n = localStorage.length;
    localStorage.clear();
    return "cleared " + n + " localStorage key" + (n === 1 ? "" : "s");
  }

  onClick("btn-reset", function () { call("reset", []); });
  onClick("btn-clear-cookies", function () { noteAction(clearCookies()); });
  onClick("btn-clear-storage", function () { noteAction(clearStorage()); });
  onClick("btn-clear-both", function () {
    noteAction(clearCookies() + "; " + clearStorage());
  });
  $("btn-reload").addEventListener("click", function () { location.reload(); });

  // ---- consent banner (?consent=ask) -----------------------------------------------------
  function showConsent() {
    const answer = localStorage.getItem("demo-consent");
    $("consent-banner").hidden = !!answer;
    $("consent-state").hidden = !answer;
    $("consent-answer").textContent = answer === "yes" ? "accepted" : "declined";
  }
  function answerConsent(yes) {
    localStorage.setItem("demo-consent", yes ? "yes" : "no");
    call("consent", [{ Analytics: yes }]);
    showConsent();
  }
  if (ASK_CONSENT) {
    $("consent-switch").href = asked ? "?runtime=" + asked : "?";
    $("consent-switch").textContent = "without the consent banner";
    showConsent();
    onClick("btn-consent-accept", function () { answerConsent(true); });
    onClick("btn-consent-decline", function () { answerConsent(false); });
    onClick("btn-consent-change", function () {
      $("consent-banner").hidden = false;
      $("consent-state").hidden = true;
    });
  } else if (asked) {
    $("consent-switch").href = "?consent=ask&runtime=" + asked;
  }
  $("btn-clear-log").addEventListener("click", clearLog);

  // ---- go --------------------------------------------------------------------------------
  updateCount();
  refreshNow();
  setInterval(refreshNow, POLL_MS);
})();
