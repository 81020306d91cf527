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
    "addDestinationMiddleware", "register", "timeout"];
  var withPage = { track: 1, screen: 1, alias: 1, group: 1, page: 1, identify: 1 };
  analytics.factory = function (method) {
    return function () {
      if (window.analytics.initialized) {
        return window.analytics[method].apply(window.analytics, arguments);
      }
      var args = Array.prototype.slice.call(arguments);
      if (withPage[method]) {
        var canon = document.querySelector("link[rel='canonical']");
        args.push({ __t: "bpc", c: canon && canon.getAttribute("href") || null,
          p: location.pathname, u: location.href, s: location.search, t: document.title,
          r: document.referrer, ts: Date.now() });
      }
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
  analytics.SNIPPET_VERSION = "pyajs-1";
})();
