// A Segment-style snippet for the analytics-next benchmark page (the test-only oracle),
// written for this project: window.analytics is a queue of [method, ...args] calls until
// analytics.load(writeKey, options) has added Analytics.js from `analytics._cdn` (here this
// server, which answers its script, chunks and settings locally), which replays them.
(function () {
  var analytics = (window.analytics = window.analytics || []);
  if (analytics.initialize || analytics.invoked) return;
  analytics.invoked = true;
  analytics.methods = ["trackSubmit", "trackClick", "trackLink", "trackForm", "pageview",
    "identify", "reset", "group", "track", "ready", "alias", "debug", "page", "screen", "once",
    "off", "on", "addSourceMiddleware", "addIntegrationMiddleware", "setAnonymousId",
    "addDestinationMiddleware", "register"];
  analytics.factory = function (method) {
    return function () {
      var args = [method].concat(Array.prototype.slice.call(arguments));
      analytics.push(args);
      return analytics;
    };
  };
  for (var i = 0; i < analytics.methods.length; i++) {
    analytics[analytics.methods[i]] = analytics.factory(analytics.methods[i]);
  }
  analytics.load = function (writeKey, options) {
    var script = document.createElement("script");
    script.async = true;
    script.src = (analytics._cdn || location.origin) + "/analytics.js/v1/" +
      encodeURIComponent(writeKey) + "/analytics.min.js";
    analytics._writeKey = writeKey;
    analytics._loadOptions = options;
    document.head.appendChild(script);
  };
  analytics.SNIPPET_VERSION = "pyajs-bench-1";
})();
