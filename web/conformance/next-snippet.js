// A Segment-style snippet for the conformance suite's oracle page (written for pyajs; it
// is not Segment's snippet). window.analytics is an array of buffered calls until the
// analytics-next bundle replaces it; every script and request stays on this origin:
// `_cdn` points the bundle's settings request and lazy chunks at the page's own server.
(function () {
  var analytics = (window.analytics = window.analytics || []);
  if (analytics.initialize || analytics.invoked) return;
  analytics.invoked = true;
  var names = ["trackSubmit", "trackClick", "trackLink", "trackForm", "pageview", "identify",
    "reset", "group", "track", "ready", "alias", "debug", "page", "screen", "once", "off", "on",
    "addSourceMiddleware", "addIntegrationMiddleware", "setAnonymousId",
    "addDestinationMiddleware", "register"];
  var pageCalls = { track: 1, screen: 1, alias: 1, group: 1, page: 1, identify: 1 };
  function stub(name) {
    return function () {
      if (window.analytics.initialized) {
        return window.analytics[name].apply(window.analytics, arguments);
      }
      var call = [name].concat(Array.prototype.slice.call(arguments));
      if (pageCalls[name]) {
        var link = document.querySelector("link[rel='canonical']");
        call.push({ __t: "bpc", c: link ? link.getAttribute("href") : null,
          p: location.pathname, u: location.href, s: location.search, t: document.title,
          r: document.referrer });
      }
      analytics.push(call);
      return analytics;
    };
  }
  for (var i = 0; i < names.length; i++) analytics[names[i]] = stub(names[i]);
  analytics._cdn = location.origin;
  analytics.load = function (writeKey, options) {
    var script = document.createElement("script");
    script.async = true;
    script.src = analytics._cdn + "/analytics.js/v1/" + encodeURIComponent(writeKey) +
      "/analytics.min.js";
    document.head.appendChild(script);
    analytics._writeKey = writeKey;
    analytics._loadOptions = options;
  };
  analytics.SNIPPET_VERSION = "pyajs-conformance-1";
})();
