// The pyajs snippet: paste it in <head>. It is Segment's snippet with our loader's URL.
// window.analytics starts as a queue with Segment's method names, so calls made before
// Python is ready are kept (with the page they were made on and the time) and replayed.
(function () {
  var analytics = (window.analytics = window.analytics || []);
  if (analytics.initialize || analytics.invoked) return;
  analytics.invoked = true;
  analytics.methods = ["trackSubmit", "trackClick", "trackLink", "trackForm", "pageview",
    "identify", "reset", "group", "track", "ready", "alias", "debug", "page", "screen", "once",
    "off", "on", "addSourceMiddleware", "addIntegrationMiddleware", "setAnonymousId",
    "addDestinationMiddleware", "register", "timeout", "consent"];
  var withPage = { track: 1, screen: 1, alias: 1, group: 1, page: 1, identify: 1 };
  // Every call that makes an event (and setAnonymousId / reset, which change the identity of
  // the events after it) is also copied to localStorage when it is made, with a messageId
  // minted then (one key a call: a page making many costs no rewrites): it survives a crash
  // or a closed tab, and the next pyajs page sends it (pysrc/pyajs/early.py). When
  // localStorage fails, the copy in memory is all there is.
  var kept = []; // [method, arguments as JSON values, snapshot]
  var store;
  try { store = localStorage; } catch (e) { /* none */ }
  // Without consent for pyajs's category (load's options.consent, or consent() since; see
  // pysrc/pyajs/consent.py), or with disableClientPersistence, the copy stays in memory.
  var given = null;
  function consented() {
    var c = analytics._loadOptions && analytics._loadOptions.consent;
    if (!obj(c) && !given) return true;
    c = obj(c) ? c : {};
    return put(put({}, obj(c.categories) ? c.categories : {}), given)[c.category || "Analytics"] === true;
  }
  function save(n) { // the copy of call n: pyajs:b:<page>:<n> → [method, args, snapshot, writeKey]
    if (window.analytics.initialized) return; // pyajs took them over
    var o = analytics._loadOptions;
    try {
      if (consented() && !(o && o.disableClientPersistence)) {
        store.setItem(analytics._bk + n, JSON.stringify(kept[n].concat(analytics._writeKey || null)));
      } else store.removeItem(analytics._bk + n);
    } catch (e) { /* full, disabled or missing: kept in memory */ }
  }
  function saveAll() {
    for (var n = 0; n < kept.length; n++) save(n);
  }
  function uuid() {
    var b = crypto.getRandomValues(new Uint8Array(16)), h = "";
    b[6] = b[6] & 15 | 64;
    b[8] = b[8] & 63 | 128;
    for (var i = 0; i < 16; i++) h += (i > 3 && i < 11 && !(i & 1) ? "-" : "") + (b[i] + 256).toString(16).slice(1);
    return h;
  }
  analytics.factory = function (method) {
    return function () {
      if (window.analytics.initialized) {
        return window.analytics[method].apply(window.analytics, arguments);
      }
      var args = Array.prototype.slice.call(arguments), snap = null, json = [], n = 0;
      if (method == "consent" && obj(args[0])) {
        given = put(given || {}, args[0]);
        saveAll();
      }
      if (withPage[method]) {
        var canon = document.querySelector("link[rel='canonical']"), now = Date.now();
        snap = { __t: "bpc", c: canon && canon.getAttribute("href") || null,
          p: location.pathname, u: location.href, s: location.search, t: document.title,
          r: document.referrer, ts: now, i: "pyajs-" + now + "-" + uuid() };
      }
      if (snap || method == "reset" || method == "setAnonymousId") {
        // a function ends identify's and group's arguments (it is their callback)
        for (; n < args.length && !(typeof args[n] == "function" && /^(identify|group)$/.test(method)); n++) {
          json.push(args[n]);
        }
        try {
          kept.push([method, JSON.parse(JSON.stringify(json)), snap]);
          analytics._bk = analytics._bk || "pyajs:b:" + uuid() + ":";
          save(kept.length - 1);
        } catch (e) { /* not JSON (a cycle): replayed from memory only */ }
      }
      if (snap) args.push(snap);
      args.unshift(method);
      analytics.push(args);
      return analytics;
    };
  };
  for (var i = 0; i < analytics.methods.length; i++) {
    var key = analytics.methods[i];
    analytics[key] = analytics.factory(key);
  }
  // MicroPython booted by pyajs.js: its runtime, wasm and the compiled package, fetched now,
  // alongside pyajs.js, not after it (the names must match pyajs.js's).
  var MPY = ["vendor/micropython/1.27.0/micropython.mjs", "vendor/micropython/1.27.0/micropython.wasm",
    "pyajs/pyajs.mpk"];
  function preload(href, module) {
    var link = document.createElement("link");
    link.rel = module ? "modulepreload" : "preload";
    if (!module) link.as = "fetch";
    link.crossOrigin = "anonymous";
    link.href = href;
    document.head.appendChild(link);
  }
  // The loader's URL and its SRI hash: `pyajs build` writes them here for where it will live.
  var LOADER = "/pyajs.js", INTEGRITY = "";
  analytics.load = function (writeKey, options) {
    var s = document.createElement("script");
    s.type = "module";
    s.src = analytics._src || LOADER;
    s.crossOrigin = "anonymous";
    if (INTEGRITY && !analytics._src) s.integrity = INTEGRITY;
    var first = document.getElementsByTagName("script")[0];
    first.parentNode.insertBefore(s, first);
    analytics._writeKey = writeKey;
    analytics._loadOptions = options;
    analytics._v1 = new URL("v1", s.src).href; // pyajs's default apiHost
    // pyajs.js boots MicroPython itself when asked to, or when no runtime is named and the
    // page runs no Python of its own. The body is not parsed yet: a page with Python names
    // it in <head> too (PyScript's script or config) or pays ~0.2 MB for a wrong guess.
    // Named MicroPython on a page with its own (mpy tags, as pyajs.js checks): PyScript's
    // MicroPython runs pyajs, and these files would never be used.
    var runtime = options && options.runtime;
    if (runtime ? (runtime === "mpy" || runtime === "micropython") && !options.pyscript &&
        !document.querySelector("script[type=mpy],mpy-config,mpy-script")
      : !document.querySelector("script[type=py],script[type=mpy],py-config,mpy-config," +
        "script[src*=pyscript]")) {
      for (var i = 0; i < MPY.length; i++) preload(new URL(MPY[i], s.src).href, i === 0);
    }
  };
  // The page is hidden or left before Python is ready: the buffered events go out now, built
  // as pyajs builds them (each field equal: tests/e2e/test_first_seconds.py), in one
  // keepalive request to <apiHost>/batch, with the identity pyajs will keep and their
  // messageIds, so that pyajs sending them again later is deduplicated by the collector.
  var V = "0.1.0"; // pyajs's version (context.library)
  function obj(v) { return v && typeof v == "object" && !Array.isArray(v); }
  function str(v) { return typeof v == "string"; }
  function put(to, from) { for (var k in from) to[k] = from[k]; return to; }
  function iso(ms) { return new Date(ms).toISOString(); }
  function stored(name) { // Analytics.js's rule: the cookie wins, then localStorage
    var m = document.cookie.match("(?:^|; *)" + name + "=([^;]*)"), v = m && m[1];
    try { v = decodeURIComponent(v.replace(/^"(.*)"$/, "$1")); } catch (e) { /* as is */ }
    try { v = JSON.parse(v); } catch (e) { /* raw */ }
    if (v == null || v === "") try { v = JSON.parse(store.getItem(name)); } catch (e) { /* none */ }
    return str(v) || typeof v == "number" ? String(v) : null;
  }
  function traits(name) {
    try { var v = JSON.parse(store.getItem(name)); } catch (e) { /* none */ }
    return obj(v) ? v : {};
  }
  function decode(v) {
    try { return decodeURIComponent(v.replace(/\+/g, " ")); } catch (e) { return v; }
  }
  function flush() {
    var o = obj(analytics._loadOptions) ? analytics._loadOptions : {}, key = analytics._writeKey;
    if (window.analytics.initialized || !key || !str(key) || !consented()) return;
    var seg = obj(o.integrations) && obj(o.integrations["Segment.io"]) ? o.integrations["Segment.io"] : {};
    var host = (o.apiHost != null ? o.apiHost : seg.apiHost) || analytics._v1;
    var proto = (o.protocol != null ? o.protocol : seg.protocol) || "https";
    host = host.replace(/\/+$/, "");
    if (host.indexOf("://") < 0) host = proto.replace(/:+$/, "") + "://" + host;
    var a = stored("ajs_anonymous_id"), u = stored("ajs_user_id"), g = stored("ajs_group_id");
    var ut = traits("ajs_user_traits"), gt = traits("ajs_group_properties"), bool = {};
    var ig = obj(o.integrations) ? o.integrations : {}, tz, batch = [], sent = [], size = 200;
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* none */ }
    var uad = navigator.userAgentData; // the high-entropy hints pyajs may add need a promise
    for (var k in ig) bool[k] = ig[k] && typeof ig[k] == "object" ? Object.keys(ig[k]).length > 0 : !!ig[k];
    // integrations that keep pyajs's own delivery out: nothing to send, as pyajs would
    if (ig["Segment.io"] === false || ig.All === false && !ig["Segment.io"]) return;
    var calls = kept.filter(function (c) { return c[0] == "setAnonymousId"; });
    calls.forEach(function (c) {
      var v = c[1][0];
      if (str(v) && v || typeof v == "number") a = String(v);
    });
    if (!a) { // minted and stored now, so that pyajs keeps it
      a = uuid();
      if (!o.disableClientPersistence) try { store.setItem("ajs_anonymous_id", JSON.stringify(a)); }
      catch (e) { document.cookie = "ajs_anonymous_id=" + encodeURIComponent(JSON.stringify(a)) + ";path=/;max-age=31536000;SameSite=Lax"; }
    }
    function event(type, f, q, s, uid) {
      if (q.anonymousId) {
        if (!str(q.anonymousId)) return;
        a = q.anonymousId;
      }
      s.a = a; // kept with the copy: pyajs adopts it when it replays the call
      var p = {}, c = s.c, search = s.s || "", ctx, utm, top = {}, ints = put({}, bool), e;
      p.path = c ? c.replace(/^[^:]*:\/\/[^\/]*/, "").split(/[?#]/)[0] || "/" : s.p || "/";
      p.referrer = s.r || "";
      p.search = search;
      p.title = s.t || "";
      p.url = c ? (c.indexOf("?") < 0 ? c.split("#")[0] + search : c) : (s.u || "").split("#")[0];
      ctx = { library: { name: "pyajs", version: V }, page: p, userAgent: navigator.userAgent,
        userAgentData: uad && uad.toJSON(), locale: navigator.language, timezone: tz };
      if (obj(o.consent) || given) ctx.consent = { categoryPreferences: put(put({},
        obj(o.consent) && obj(o.consent.categories) ? o.consent.categories : {}), given) };
      if (search) {
        utm = ctx.campaign = {};
        search.replace(/^\?/, "").replace(/\?/g, "&").split("&").forEach(function (pair) {
          var x = pair.split("="), i = x[0].indexOf("utm_"), n = x[0].slice(i + 4);
          if (i >= 0 && n) utm[n == "campaign" ? "name" : n] = x.length > 1 ? decode(x[1]) : "";
        });
      }
      if (type == "page") {
        f.properties = put(put({ path: p.path, referrer: p.referrer, search: search, title: p.title,
          url: p.url }, f.name ? { name: f.name } : {}), f.category ? { category: f.category } : {});
        put(f.properties, f.p);
        for (k in p) p[k] = f.properties[k];
      } else if (f.p) f.properties = f.p;
      delete f.p;
      for (k in q) {
        var v = q[k];
        if (v == null) continue;
        if (k == "integrations") { if (obj(v)) put(ints, v); }
        else if (/^(anonymousId|userId|timestamp|messageId)$/.test(k)) top[k] = v;
        else if (k == "context") {
          if (obj(v)) for (var ck in v) if (ck == "page" && obj(v[ck])) put(p, v[ck]); else ctx[ck] = v[ck];
        } else ctx[k] = v;
      }
      e = put({ type: type, userId: uid, anonymousId: a, context: ctx, integrations: ints,
        timestamp: iso(s.ts), messageId: s.i }, f);
      for (k in top) {
        if (k != "userId" || uid == null || type == "alias") {
          e[k] = k == "timestamp" && typeof top[k] == "number" ? iso(Math.trunc(top[k])) : top[k];
        }
      }
      e.writeKey = key;
      return e;
    }
    kept.forEach(function (call) {
      var m = call[0], x = call[1], s = call[2], e, n, t, q, i, v = {}, slots = ["i", "t", "o"];
      if (m == "reset") { a = u = g = null; ut = {}; gt = {}; }
      if (!s) return;
      a = a || s.a || uuid(); // after a reset (the one made at an earlier hide, if any)
      try {
        if (m == "track") {
          t = x[0];
          q = x[2];
          if (obj(t)) { q = x[1]; n = t.properties; t = t.event; } else n = x[1];
          if (str(t) && t) e = event(m, { event: t, p: obj(n) ? n : {} }, obj(q) ? q : {}, s, u);
        } else if (m == "page" || m == "screen") {
          x = x.slice(0, 5);
          t = x.filter(str);
          n = x.filter(obj);
          q = {};
          if (t.length == 1) v.name = t[0];
          if (t.length > 1) {
            if (str(x[0])) v.category = x[0];
            if (str(x[1])) v.name = x[1];
          }
          if (n.length == 1 && obj(x[3]) && !obj(x[2])) q = x[3];
          else if (n.length) { v.p = n[0]; q = n[1] || {}; }
          v.p = v.p || {};
          e = event(m, v, q, s, u);
        } else if (m == "alias") {
          x = x.slice(0, 4).map(function (y) { return typeof y == "number" ? String(y) : y; });
          t = x.filter(str);
          q = x.filter(obj)[0] || {};
          if (t[0]) e = event(m, { previousId: t[1] || u || a }, q, s, t[0]);
        } else {
          x.forEach(function (y) { // Segment's identify(id?, traits?, options?)
            var slot = slots[0];
            if (!slot) return;
            if (slot == "i") {
              slots.shift();
              if (str(y) || typeof y == "number") { v.i = String(y); return; }
              if (y == null) return;
              slot = slots[0];
            }
            slots.shift();
            if (obj(y) || y == null) v[slot] = y;
          });
          t = v.t || {};
          if (m == "identify") {
            i = v.i || u;
            ut = !i || u == null || u == i ? put(put({}, ut), t) : t;
            if (i) {
              if (u != null && i != u) a = null;
              u = i;
            }
            a = a || s.a || uuid();
            e = event(m, { traits: put({}, ut) }, v.o || {}, s, u);
          } else {
            i = v.i || g;
            gt = !i || g == null || g == i ? put(put({}, gt), t) : t;
            g = i || g;
            if (g) e = event(m, { groupId: g, traits: put({}, gt) }, v.o || {}, s, u);
          }
        }
      } catch (err) { e = null; /* left to pyajs */ }
      if (!e || s.d || e.integrations["Segment.io"] === false) return;
      t = JSON.stringify(e);
      n = new Blob([t]).size;
      if (n <= 32768 && size + n + 1 < 60000) { // one event's limit; the keepalive budget
        size += n + 1;
        batch.push(t);
        sent.push(s);
      }
    });
    if (!batch.length) return;
    function mark(d) {
      sent.forEach(function (s) { s.d = d; });
      saveAll();
    }
    mark(1);
    try {
      fetch(host + "/batch", { method: "POST", keepalive: true, credentials: "omit",
        headers: { "Content-Type": "text/plain",
          Authorization: "Basic " + btoa(unescape(encodeURIComponent(key + ":"))) },
        body: '{"batch":[' + batch.join(",") + '],"writeKey":' + JSON.stringify(key) +
          ',"sentAt":"' + iso(Date.now()) + '"}' })
        .then(function (r) { mark(r.status < 200 || r.status > 399 ? 0 : 2); },
          function () { mark(0); });
    } catch (e) { mark(0); }
  }
  addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState == "hidden") flush();
  });
  analytics.SNIPPET_VERSION = "pyajs-1";
})();
