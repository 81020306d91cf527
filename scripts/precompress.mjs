// Precompresses the large runtime files the dev server hands to the browser, once per runtime
// version (scripts/setup.sh --browser: the tests and benchmarks; the demo does without):
// writes <file>.br (brotli, quality 11) and <file>.gz (gzip -9) under .pyajs/precompressed/,
// mirroring their paths under the repository, plus manifest.json naming each source's size
// and sha256 so the server uses a variant only while it matches the file it was made from.
// Node's built-in zlib does both formats, so the server needs no Python dependency for them.
//
//   node scripts/precompress.mjs [--force]
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, ".pyajs", "precompressed");
const manifestPath = join(out, "manifest.json");
const force = process.argv.includes("--force");

// [folder under the repo, which of its files]
const SOURCES = [
  ["node_modules/pyodide", (name) =>
    /^(pyodide\.asm\.wasm|python_stdlib\.zip|pyodide\.asm\.mjs|pyodide-lock\.json|pyodide\.m?js)$/
      .test(name)],
  ["node_modules/@pyscript/core/dist", (name) => /\.(m?js|css)$/.test(name)],
  ["node_modules/@micropython/micropython-webassembly-pyscript",
    (name) => /^micropython\.(mjs|wasm)$/.test(name)],
  // The test-only oracle, so the benchmark compares like with like.
  ["node_modules/@segment/analytics-next/dist/umd", (name) => /\.js$/.test(name)],
];
// A variant is kept only when it saves at least this fraction.
const MIN_SAVING = 0.05;

function readManifest() {
  try {
    return JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch {
    return {};
  }
}

function writeAtomic(path, data) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

const old = readManifest();
const manifest = {};
let made = 0;
let kept = 0;
for (const [folder, wanted] of SOURCES) {
  const dir = join(root, folder);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir).sort()) {
    if (!wanted(name)) continue;
    const file = join(dir, name);
    const rel = relative(root, file).split("\\").join("/");
    const data = readFileSync(file);
    const sha256 = createHash("sha256").update(data).digest("hex");
    const before = old[rel];
    const target = join(out, rel);
    if (!force && before && before.sha256 === sha256 && before.size === data.length &&
        Object.keys(before.encodings).every((enc) => existsSync(`${target}.${enc}`))) {
      manifest[rel] = before;
      kept++;
      continue;
    }
    // Brotli at quality 11 takes seconds per megabyte: say what is going on.
    const started = Date.now();
    process.stdout.write(`precompress: ${rel} (${(data.length / 1e6).toFixed(1)} MB)... `);
    const encodings = {};
    const variants = {
      br: () => brotliCompressSync(data, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 11,
          [constants.BROTLI_PARAM_LGWIN]: 24,
          [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      }),
      gz: () => gzipSync(data, { level: 9 }),
    };
    for (const [enc, make] of Object.entries(variants)) {
      const packed = make();
      if (packed.length <= data.length * (1 - MIN_SAVING)) {
        writeAtomic(`${target}.${enc}`, packed);
        encodings[enc] = packed.length;
      }
    }
    manifest[rel] = { size: data.length, sha256, encodings };
    console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
    made++;
  }
}
writeAtomic(manifestPath, JSON.stringify(manifest, null, 1) + "\n");
console.log(`precompress: ${made} compressed, ${kept} up to date, in ${relative(root, out)}/`);
