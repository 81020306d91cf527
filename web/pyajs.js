// pyajs loader: starts PyScript + Pyodide with the pyajs package, from this file's origin.
//
// The snippet's analytics.load(writeKey, options) adds this module to the page. It gives
// PyScript a config (our pinned Pyodide, the pyajs package as one zip) unless the page has
// one already, adds a one-line `<script type="py">import pyajs</script>`, and provides the
// few browser helpers Python calls (fetch, the page snapshot, the live window.analytics).
// Everything else, identity, events and delivery, is Python.
const base = new URL(".", import.meta.url);
const abs = (path) => new URL(path, base).href;

const EVENT_METHODS = new Set(["track", "page", "screen", "identify", "group", "alias"]);
const METHODS = [
  "trackSubmit", "trackClick", "trackLink", "trackForm", "pageview", "identify", "reset",
  "group", "track", "ready", "alias", "debug", "page", "screen", "once", "off", "on",
  "addSourceMiddleware", "addIntegrationMiddleware", "setAnonymousId",
  "addDestinationMiddleware", "register", "load", "timeout", "consent",
];

function snapshot() {
  const canon = document.querySelector("link[rel='canonical']");
  return {
    c: canon ? canon.getAttribute("href") : null, p: location.pathname, u: location.href,
    s: location.search, t: document.title, r: document.referrer,
  };
}

// Arguments cross into Python as JSON: Dates become ISO strings, undefined disappears, and
// each function is replaced by {"__pyajs_fn__": i} with the function itself passed beside.
function encodeArgs(args, fns) {
  return JSON.stringify(args, function (key, value) {
    if (typeof value === "function") {
      fns.push(value);
      return { __pyajs_fn__: fns.length - 1 };
    }
    if (value === undefined && Array.isArray(this)) return null;
    return value;
  });
}

// What crosses into Python with each call: (method, argsJson, fns|null, snap, cookie, at).
// `snap` is the page snapshot as JSON, or "" when it is the one the previous call sent;
// `cookie` is document.cookie when Python has not seen that text yet, true when it has,
// false when it cannot be read here (Python then asks itself and gets the error).
// Python reuses what it already has instead of parsing or copying it again.
let snapSent = null;
function makeCall(core, name) {
  return function (...args) {
    const fns = [];
    let json;
    try {
      json = encodeArgs(args, fns);
    } catch (err) {
      console.warn(`pyajs: analytics.${name}(): the arguments cannot be sent (${err.message})`);
      return undefined;
    }
    let snap = null;
    if (EVENT_METHODS.has(name)) {
      snap = JSON.stringify(snapshot());
      if (snap === snapSent) snap = "";
      else snapSent = snap;
    }
    let cookie;
    try {
      const text = currentCookie();
      cookie = text === cookieGiven ? true : (cookieGiven = text);
    } catch (e) {
      cookie = false;
    }
    // the time as text: MicroPython truncates large JS integers to 32 bits
    const out = core(name, json, fns.length ? fns : null, snap, cookie, String(Date.now()));
    return out === undefined || out === null ? undefined : JSON.parse(out);
  };
}

// document.cookie costs the browser tens of microseconds a read: keep the text until the
// current task ends or pyajs writes a cookie, so a loop of calls reads it once.
let cookieText = null;
let cookieGiven = null; // the text Python holds (it got it from cookie() or a call)
const forgetCookies = () => { cookieText = null; };
function currentCookie() {
  if (cookieText === null) {
    cookieText = document.cookie;
    queueMicrotask(forgetCookies);
  }
  return cookieText;
}

// The cookie text after pyajs's own write (`name=value; path=…; expires=…`), worked out here:
// reading document.cookie right after a write waits for the browser to take it, several
// milliseconds while the page starts. Only for a cookie the text does not hold yet (a
// first visit's ids): one it holds may be another cookie of that name (host-only or on
// another domain or path) that the write does not replace, and never for the probe cookie
// (cookies.py), whose read asks whether the browser took it. null: read it again.
function afterWrite(jar, assignment) {
  const eq = assignment.indexOf("=");
  const semi = assignment.indexOf(";");
  if (eq < 0 || (semi >= 0 && semi < eq)) return null;
  const name = assignment.slice(0, eq).trim();
  if (name === "__tld__" || /;\s*max-age=/i.test(assignment)) return null;
  if (jar && jar.split("; ").some((p) => p === name || p.startsWith(`${name}=`))) return null;
  const expires = /;\s*expires=([^;]*)/i.exec(assignment);
  if (expires && !(Date.parse(expires[1]) > Date.now())) return jar; // a removal: none to remove
  const value = assignment.slice(eq + 1, semi < 0 ? undefined : semi).trim();
  return jar ? `${jar}; ${name}=${value}` : `${name}=${value}`;
}

// Analytics.js plugin objects stay here; Python gets a description of each (see
// describePlugin) and calls their methods through runPlugin / callPlugin, which hand each
// one a context, await what it returns, and answer with the event as JSON.
const plugins = [];
const PLUGIN_METHODS = ["track", "page", "identify", "group", "alias", "screen", "load",
  "unload"];
function describePlugin(plugin) {
  if (!plugin || (typeof plugin !== "object" && typeof plugin !== "function")) return plugin;
  plugins.push(plugin);
  const categories = plugin.consentCategories;
  return {
    __pyajs_plugin__: plugins.length - 1, name: plugin.name ?? null, type: plugin.type ?? null,
    version: plugin.version ?? null,
    methods: PLUGIN_METHODS.filter((m) => typeof plugin[m] === "function"),
    categories: Array.isArray(categories) ? categories : null,
  };
}

// What a plugin's methods receive, as Analytics.js's Context: `event` to read and change,
// updateEvent(path, value) for nested fields, and log / stats / cancel.
class PluginContext {
  constructor(event) {
    this.event = event;
    this.attempts = 1;
    this.logs = [];
    this.stats = { increment() {}, gauge() {}, flush() {} };
  }
  updateEvent(path, value) {
    const keys = String(path).split(".");
    let target = this.event;
    for (const key of keys.slice(0, -1)) {
      if (key === "__proto__" || key === "constructor") return this.event;
      if (typeof target[key] !== "object" || target[key] === null) target[key] = {};
      target = target[key];
    }
    target[keys[keys.length - 1]] = value;
    return this.event;
  }
  log(level, message, extras) { this.logs.push({ level, message, extras }); }
  cancel(error) { throw error || new Error("the event was cancelled"); }
  isSame(other) { return other === this; }
  failedDelivery() { return undefined; }
  setFailedDelivery() {}
}

const errorText = (e) => String((e && (e.name ? `${e.name}: ${e.message}` : e.message)) || e);

// Segment's middleware payload: the event as `obj`, and `next` that goes on once.
function middlewareParams(eventJson, next) {
  const obj = JSON.parse(eventJson);
  let called = false;
  return {
    payload: { obj, type: () => obj.type, event: () => obj.event },
    integrations: obj.integrations || {},
    next: (p) => {
      if (called) return;
      called = true;
      next(p === null ? "null" : JSON.stringify(p && p.obj ? p.obj : obj));
    },
  };
}

const headerCache = new Map();
const parsedHeaders = (json) => {
  let h = headerCache.get(json);
  if (!h) headerCache.set(json, (h = JSON.parse(json)));
  return h;
};

// Browser APIs that can throw (storage quota, sandboxed frames, a page's own callbacks) are
// called here and answer ERR + message instead: MicroPython cannot catch a JavaScript
// exception, so Python turns the marker back into an exception of its own.
const ERR = "\u0000pyajs-error:";
const HEX = Array.from({ length: 256 }, (_, b) => (b < 16 ? "0" : "") + b.toString(16));
const guard = (fn) => function (...args) {
  try {
    return fn.apply(this, args);
  } catch (e) {
    return ERR + String((e && (e.name ? `${e.name}: ${e.message}` : e.message)) || e);
  }
};

let environmentJson = null;

// navigator.userAgentData (Chromium, secure contexts only): {brands, mobile, platform} on
// every event's context, or the high-entropy values the load option
// highEntropyValuesClientHints lists (["platformVersion", "model", …]), as Analytics.js
// sends them; absent where the API is missing. Asked for now, while the runtime downloads, so no
// event waits for it (startMicroPython waits for the answer; Pyodide starts far later).
let userAgentData; // undefined: none
const userAgentDataReady = (() => {
  try {
    const uad = navigator.userAgentData;
    if (!uad) return null;
    userAgentData = uad.toJSON();
    const stub = window.analytics || {};
    const hints = stub._loadOptions && stub._loadOptions.highEntropyValuesClientHints;
    if (!hints) return null;
    return uad.getHighEntropyValues(hints).then(
      (values) => { userAgentData = values; }, () => { /* refused: the low-entropy ones */ });
  } catch (e) {
    return null;
  }
})();

const helpers = {
  ERR,
  installed: false, // true once one interpreter owns window.analytics
  snapshot: () => JSON.stringify(snapshot()),
  // n version 4 UUIDs back to back (36 characters each), from the cryptographic source
  // (crypto.randomUUID exists only in secure contexts)
  randomUuids(n) {
    const bytes = crypto.getRandomValues(new Uint8Array(16 * n));
    let out = "";
    for (let i = 0; i < bytes.length; i += 16) {
      bytes[i + 6] = (bytes[i + 6] & 0x0f) | 0x40;
      bytes[i + 8] = (bytes[i + 8] & 0x3f) | 0x80;
      for (let j = 0; j < 16; j++) {
        if (j === 4 || j === 6 || j === 8 || j === 10) out += "-";
        out += HEX[bytes[i + j]];
      }
    }
    return out;
  },
  // A promise of the next task: scheduler.yield() resumes ahead of other waiting tasks
  nextTask: () => (window.scheduler && scheduler.yield ? scheduler.yield()
    : new Promise((resolve) => setTimeout(resolve, 0))),
  // Read once, at the first event or when the page is idle after ready (see install). The
  // time zone from Temporal where the browser has it: the same name (both are the host's
  // zone), but the first Intl.DateTimeFormat of a page costs 15-50 ms, Temporal 0.1 ms.
  environment() {
    if (environmentJson === null) {
      let timezone;
      try {
        timezone = typeof Temporal === "object" && Temporal.Now && Temporal.Now.timeZoneId
          ? Temporal.Now.timeZoneId() : Intl.DateTimeFormat().resolvedOptions().timeZone;
      } catch (e) { /* none */ }
      environmentJson = JSON.stringify({
        userAgent: navigator.userAgent, userAgentData, locale: navigator.language, timezone });
    }
    return environmentJson;
  },
  cookie: guard(() => (cookieGiven = currentCookie())),
  setCookie: guard((text) => {
    document.cookie = text;
    cookieText = cookieText === null ? null : afterWrite(cookieText, text);
    return null;
  }),
  hasLocalStorage: guard(() => !!window.localStorage),
  lsGet: guard((key) => localStorage.getItem(key)),
  lsSet: guard((key, value) => { localStorage.setItem(key, value); return null; }),
  lsRemove: guard((key) => { localStorage.removeItem(key); return null; }),
  lsKeys: guard(() => JSON.stringify(Object.keys(localStorage))),
  putMany: guard((pairsJson) => {
    for (const [key, value] of JSON.parse(pairsJson)) localStorage.setItem(key, value);
    return null;
  }),
  // key U+0001 value U+0001 key U+0001 value ...: each value stored as head + value + tail
  // (see BrowserLocalStorage.put_wrapped)
  putJoined: guard((text, head, tail) => {
    const parts = text.split("\u0001");
    for (let i = 0; i + 1 < parts.length; i += 2) {
      localStorage.setItem(parts[i], head + parts[i + 1] + tail);
    }
    return null;
  }),
  removeJoined: guard((text) => {
    for (const key of text.split("\u0001")) localStorage.removeItem(key);
    return null;
  }),
  // done(id, status, retryAfter, error) is called exactly once per request. The body is
  // head + core (less its last `cut` characters) + tail: an event's JSON text is spliced
  // here, not in Python (see delivery.Body).
  send(url, headersJson, head, core, tail, cut, keepalive, id, done) {
    try {
      const body = head + (cut ? core.slice(0, core.length - cut) : core) + tail;
      const init = { method: "POST", headers: parsedHeaders(headersJson), body,
                     keepalive: !!keepalive, credentials: "omit" };
      fetch(url, init).then(
        (r) => done(id, r.status, r.headers.get("Retry-After"), null),
        (e) => done(id, 0, null, String(e && e.message || e)),
      );
    } catch (e) {
      done(id, 0, null, String(e && e.message || e));
    }
  },
  // The write key and load options the snippet recorded, as JSON (functions left out).
  loadConfig() {
    const stub = window.analytics || {};
    return JSON.stringify({
      writeKey: stub._writeKey ?? null, options: stub._loadOptions ?? {},
      apiHost: new URL("v1", base).href,
      pageKey: stub._bk ?? null, // the snippet's localStorage copy of this page's calls
      // cookies on, and document.cookie readable here (not in a sandboxed frame): pyajs then
      // writes its ids without probing first (storage.build_identity_storages)
      cookieEnabled: navigator.cookieEnabled === true && !String(helpers.cookie()).startsWith(ERR),
    }, (k, v) => (typeof v === "function" ? undefined : v));
  },
  // The calls buffered by the snippet: [[method, args, snapshot|null, at|null], ...] as
  // JSON, each function replaced by {"__pyajs_fn__": i} and pushed onto fns.
  takeQueue(fns) {
    const stub = window.analytics;
    if (!Array.isArray(stub)) return "[]";
    const calls = [];
    for (const entry of stub) {
      if (!Array.isArray(entry) || typeof entry[0] !== "string") continue;
      const args = entry.slice(1);
      let snap = null;
      const last = args[args.length - 1];
      if (last && typeof last === "object" && last.__t === "bpc") snap = args.pop();
      calls.push([entry[0], entry[0] === "register" ? args.map(describePlugin) : args, snap,
        snap && snap.ts ? snap.ts : null]);
    }
    try {
      return encodeArgs(calls, fns);
    } catch (err) {
      console.warn(`pyajs: some buffered calls cannot be replayed (${err.message})`);
      return "[]";
    }
  },
  // Page life events for the dispatcher; never `unload` (it breaks the back-forward cache).
  listen(cb) {
    addEventListener("pagehide", () => cb("pagehide"));
    addEventListener("pageshow", (e) => { if (e.persisted) cb("pageshow"); });
    addEventListener("online", () => cb("online"));
    document.addEventListener("visibilitychange", () =>
      cb(document.visibilityState === "hidden" ? "hidden" : "visible"));
  },
  // Segment's source middleware contract around a Python `next(eventJson)`.
  runSourceMiddleware: guard((fn, eventJson, next) => {
    fn(middlewareParams(eventJson, next));
    return null;
  }),
  // The same for one destination's middleware: next(null) drops the event for it.
  runDestinationMiddleware: guard((fn, eventJson, integration, next) => {
    const params = middlewareParams(eventJson, next);
    delete params.integrations;
    fn({ ...params, integration });
    return null;
  }),
  // plugins[i][method](ctx), awaited: done("", eventJson) or done(error, "").
  runPlugin: guard((i, method, eventJson, done) => {
    const ctx = new PluginContext(JSON.parse(eventJson));
    new Promise((resolve) => resolve(plugins[i][method](ctx))).then(
      (out) => done("", JSON.stringify((out instanceof PluginContext ? out : ctx).event)),
      (e) => done(errorText(e), ""));
    return null;
  }),
  // plugins[i].load / unload (ctx, window.analytics), awaited: done("") or done(error).
  callPlugin: guard((i, method, done) => {
    new Promise((resolve) => resolve(plugins[i][method](new PluginContext(undefined),
      window.analytics))).then(() => done(""), (e) => done(errorText(e)));
    return null;
  }),
  // A JS function handed to Python: called with a JSON array of arguments.
  callWithJson: guard((fn, argsJson) => {
    fn(...JSON.parse(argsJson));
    return null;
  }),
  // The live window.analytics, backed by core(method, argsJson, fns, snap, cookie, at).
  install(core, version) {
    const stub = window.analytics;
    const live = {
      initialized: true, VERSION: version, _writeKey: stub && stub._writeKey,
      _loadOptions: stub && stub._loadOptions,
    };
    for (const m of METHODS) live[m] = makeCall(core, m);
    const entity = (which) => ({
      id: makeCall(core, `${which}.id`),
      traits: makeCall(core, `${which}.traits`),
      reset: makeCall(core, `${which}.reset`),
      logout: makeCall(core, `${which}.logout`),
      anonymousId: which === "user" ? makeCall(core, "user.anonymousId") : () => undefined,
    });
    const user = entity("user");
    const group = entity("group");
    const sendGroup = live.group;
    live.user = () => user;
    live.group = (...args) => (args.length ? sendGroup(...args) : group);
    // As Analytics.js: ready() answers a Promise of what the callback gets, and debug / on /
    // once / off answer the instance (so calls chain).
    const whenReady = live.ready;
    live.ready = (cb) => {
      if (cb !== undefined && typeof cb !== "function") return whenReady(cb); // Python warns
      return new Promise((resolve) => whenReady((res) => {
        try {
          if (cb) cb(res);
        } finally {
          resolve(res);
        }
      }));
    };
    for (const m of ["debug", "on", "once", "off"]) {
      const call = live[m];
      live[m] = (...args) => { call(...args); return live; };
    }
    // register / deregister answer a Promise, settled once the plugins' load / unload have
    // (Python calls the function added last)
    const sendRegister = live.register;
    const sendDeregister = makeCall(core, "deregister");
    live.register = (...list) => new Promise((resolve) => sendRegister(
      ...list.map(describePlugin), () => resolve(new PluginContext(undefined))));
    live.deregister = (...names) => new Promise((resolve) => sendDeregister(
      ...names, () => resolve(new PluginContext(undefined))));
    const sendDestinationMiddleware = live.addDestinationMiddleware;
    live.addDestinationMiddleware = (...args) => {
      sendDestinationMiddleware(...args);
      return Promise.resolve(live);
    };
    const sendSourceMiddleware = live.addSourceMiddleware; // added at once: settled already
    live.addSourceMiddleware = (...args) => {
      sendSourceMiddleware(...args);
      return Promise.resolve(live);
    };
    live.push = (call) => live[call[0]](...call.slice(1));
    window.analytics = live;
    helpers.installed = true;
    // the time zone for the first event, read once the page has nothing else to do
    if (window.requestIdleCallback) requestIdleCallback(() => helpers.environment());
    else setTimeout(() => helpers.environment(), 1);
    return live;
  },
};

// The two runtimes a page can pick with analytics.load(key, {runtime}): "py" (Pyodide:
// CPython, for pages whose own Python needs it) or "mpy" (MicroPython, ~20x smaller and
// faster to start: for the lightest analytics).
const RUNTIMES = {
  py: "vendor/pyodide/314.0.7/pyodide.mjs", // versioned URLs: cached immutable
  mpy: "vendor/micropython/1.27.0/micropython.mjs",
};

// The Python the page runs itself (PyScript's tags), which pyajs joins instead of bringing
// a second interpreter: "py", "mpy" or null.
function pagePython() {
  if (document.querySelector("script[type='py'], py-config, py-script")) return "py";
  if (document.querySelector("script[type='mpy'], mpy-config, mpy-script")) return "mpy";
  return null;
}

function wantedRuntime() {
  const stub = window.analytics || {};
  return stub._loadOptions && stub._loadOptions.runtime;
}

// No runtime option: the page's own Python, else MicroPython.
function runtimeType() {
  const wanted = wantedRuntime();
  if (wanted === undefined || wanted === null || wanted === "") return pagePython() || "mpy";
  const type = wanted === "micropython" ? "mpy" : wanted === "pyodide" ? "py" : wanted;
  if (!RUNTIMES[type]) {
    const chosen = pagePython() || "mpy";
    console.warn(`pyajs: analytics.load(): runtime ${JSON.stringify(wanted)} is not "py" or ` +
      `"mpy"; using "${chosen}"`);
    return chosen;
  }
  return type;
}

// The package for each runtime under PyScript: Python sources for Pyodide, MicroPython
// bytecode (compiled by serve.py) for MicroPython.
const PACKAGES = { py: "pyajs/pyajs.zip", mpy: "pyajs/pyajs-mpy.zip" };

// What PyScript runs to start pyajs ("pyajs:start" marks where pyajs's own Python begins).
// Pyodide compiles pyajs's sources when they are imported, most of the import's time: they
// are compiled first, one module per task (the browser may run input and rendering between
// them), so the import runs bytecode only and no task of pyajs's start-up is long. Inside a
// function: PyScript's scripts share their globals with the page's.
const PYODIDE_BOOT = `import js
js.performance.mark("pyajs:start")
async def _pyajs_compile():
    import importlib.util, os, py_compile
    try:
        where = importlib.util.find_spec("pyajs").submodule_search_locations[0]
        names = sorted(os.listdir(where))
    except Exception:
        return
    for name in names:
        if name.endswith(".py"):
            try:
                py_compile.compile(where + "/" + name, doraise=True)
            except Exception:
                pass
            await js.__pyajs.nextTask()
await _pyajs_compile()
del _pyajs_compile
import pyajs`;
const MPY_BOOT = 'import js\njs.performance.mark("pyajs:start")\nimport pyajs';

function pyscriptConfig(type) {
  return JSON.stringify({
    interpreter: abs(RUNTIMES[type]),
    files: { [abs(PACKAGES[type])]: "./*" },
  });
}

// MicroPython without PyScript: the shortest path from the snippet to a running
// interpreter for pages whose only Python is pyajs. The runtime module, its wasm and the
// package (pyajs compiled to MicroPython bytecode by serve.py, one file) load in parallel,
// and nothing else does.
const MPY_WASM = RUNTIMES.mpy.replace(/\.mjs$/, ".wasm");
const MPY_PACKAGE = "pyajs/pyajs.mpk";

// MicroPython's heap starts at 2 MB and grows as needed (the build splits its heap);
// browser.py makes collections rarer than the runtime's default.
const MPY_HEAP = 2 * 1024 * 1024;

// pyajs.mpk: a 4-byte little-endian header length, a JSON [[name, size], ...] header,
// then the files back to back (serve.py's pack_files).
function unpack(buffer) {
  const view = new DataView(buffer);
  const size = view.getUint32(0, true);
  const names = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, size)));
  let at = 4 + size;
  return names.map(([name, length]) => {
    const data = new Uint8Array(buffer, at, length);
    at += length;
    return [name, data];
  });
}

async function startMicroPython() {
  // the wasm is fetched (and compiled as it streams in) while the runtime module loads
  const preload = document.createElement("link");
  Object.assign(preload, { rel: "preload", as: "fetch", href: abs(MPY_WASM), crossOrigin: "anonymous" });
  document.head.appendChild(preload);
  const [{ loadMicroPython }, files] = await Promise.all([
    import(abs(RUNTIMES.mpy)),
    fetch(abs(MPY_PACKAGE)).then((r) => {
      if (!r.ok) throw new Error(`${MPY_PACKAGE}: HTTP ${r.status}`);
      return r.arrayBuffer();
    }).then(unpack),
    userAgentDataReady,
  ]);
  const mp = await loadMicroPython({
    url: abs(MPY_WASM), heapsize: MPY_HEAP,
    stdout: (line) => console.log(line), stderr: (line) => console.error(line),
  });
  // the runtime's start (the end of the wasm's compilation, the interpreter's set-up) and
  // pyajs's import in tasks of their own: neither is long then
  await helpers.nextTask();
  // A miss on the file system below (a directory that exists, a module looked for under
  // another name) is a JavaScript exception: none records a stack trace.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const made = new Set();
    for (const [name, data] of files) {
      const parts = `/lib/${name}`.split("/");
      for (let i = 2; i < parts.length; i++) {
        const dir = parts.slice(0, i).join("/");
        if (!made.has(dir)) {
          made.add(dir);
          try { mp.FS.mkdir(dir); } catch (e) { /* exists */ }
        }
      }
      mp.FS.writeFile(parts.join("/"), data);
    }
    // imported, not run as source: the interpreter's compiler is never needed ("/lib" is on
    // MicroPython's path)
    performance.mark("pyajs:start"); // where pyajs's own Python begins (bench/firstvisit.py)
    mp.pyimport("pyajs");
  } finally {
    Error.stackTraceLimit = limit;
  }
}

// What the first calls from Python would otherwise wait for, done while the runtime is still
// downloading: the page's cookie jar and localStorage, which the browser loads on first use.
function warmUp() {
  try {
    void document.cookie;
    void window.localStorage.length;
  } catch (e) { /* unavailable: Python reports it */ }
}

function start() {
  window.__pyajs = helpers;
  const type = runtimeType();
  const stub = window.analytics || {};
  const viaPyScript = (stub._loadOptions && stub._loadOptions.pyscript) ||
    document.querySelector("script[type='mpy'], mpy-config, mpy-script");
  if (type === "mpy" && !viaPyScript) {
    const booting = startMicroPython().catch(
      (e) => console.error("pyajs: MicroPython failed to start", e));
    warmUp();
    return booting;
  }
  const own = document.querySelector(`${type}-config, script[type='${type}'][config]`);
  const boot = document.createElement("script");
  boot.type = type;
  boot.textContent = type === "py" ? PYODIDE_BOOT : MPY_BOOT;
  if (!own) boot.setAttribute("config", pyscriptConfig(type));
  // (pyajs installed from its wheel by the config's "packages" needs no files entry)
  else if (!/pyajs(-mpy)?\.zip|pyajs-[^"'/]*\.whl/.test(own.getAttribute("config") ||
                                                      own.textContent || "")) {
    console.warn("pyajs: this page has its own PyScript config; add " +
      `"files": {"${abs(PACKAGES[type])}": "./*"} to it so pyajs can load`);
  }
  (document.body || document.head).appendChild(boot);
  const booting = import(abs("vendor/pyscript/0.7.31/core.js")); // versioned: cached immutable
  warmUp();
  return booting;
}

// This module runs as soon as it has loaded, possibly while the body is still being parsed.
// With no runtime option the page's own Python decides, and its <script type="py"> may come
// further down: then decide once the document is parsed (the snippet's preloads keep
// MicroPython's files coming meanwhile).
if (document.readyState === "loading" && !wantedRuntime() && !pagePython()) {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
