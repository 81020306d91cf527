// Loads pyajs on the runtime named by ?runtime= (mpy, py; &pyscript=1 boots MicroPython
// through PyScript) and reports readiness on the console: under a policy without
// 'unsafe-eval' the test cannot poll the page with evaluated code.
(function () {
  // Each refusal by the policy, on the console, so a test can wait for it.
  document.addEventListener("securitypolicyviolation", function (e) {
    console.error("csp-violation " + e.effectiveDirective + " " + e.blockedURI);
  });
  var params = new URLSearchParams(location.search);
  var options = { runtime: params.get("runtime") || "mpy" };
  if (params.get("pyscript")) options.pyscript = true;
  analytics.load(params.get("key") || "pyajs-e2e-key", options);
  analytics.track("CSP Check", { runtime: options.runtime, pyscript: !!options.pyscript });
  analytics.ready(function () {
    console.log("pyajs-csp-ready " + analytics.user().anonymousId());
  });
})();
