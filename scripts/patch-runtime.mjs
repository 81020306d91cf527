// Takes one debug check out of MicroPython's JavaScript glue, once, after `npm ci`.
//
// The published @micropython/micropython-webassembly-pyscript is built with emscripten's
// assertions on. One of them sits on the interpreter's hottest path: MicroPython's
// exceptions are setjmp/longjmp, which emscripten routes through small JavaScript
// trampolines, so nearly every call the bytecode VM makes goes out to JavaScript, fetches
// the target from a cached mirror of the wasm function table, and then, only because of
// the assertion, fetches it again from the table itself to compare. That second lookup is
// about a fifth of a track() call on MicroPython (docs/performance.md, "MicroPython: the
// runtime work"). A release build of the same glue has no such check; nothing else
// changes: the mirror is still used, and the runtime still aborts on a real fault.
//
// The check is found by its shape (an assert whose condition reads wasmTable.get), must
// occur exactly once, and is removed in place; running again finds nothing to do. `--check`
// only reports (exit 1 while the check is still there), for the tests.
//
//   node scripts/patch-runtime.mjs [--check] [file]
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT = join(root, "node_modules", "@micropython", "micropython-webassembly-pyscript",
  "micropython.mjs");

// assert(wasmTable.get(<ptr>)==<fn>,"<message>"), as the minified glue spells it
const TABLE_CHECK = /assert\(wasmTable\.get\(\w+\)\s*==\s*\w+\s*,\s*"[^"]*"\),/g;
// the lookup that stays: the mirror, filled from the table on a miss
const MIRROR = /getWasmTableEntry\s*=/;

export function patch(text) {
  const found = text.match(TABLE_CHECK) || [];
  if (found.length > 1) {
    throw new Error(`the table check occurs ${found.length} times; expected once`);
  }
  if (found.length === 0) return { text, changed: false };
  if (!MIRROR.test(text)) throw new Error("no getWasmTableEntry: not the expected glue");
  return { text: text.replace(TABLE_CHECK, ""), changed: true };
}

const args = process.argv.slice(2);
const checkOnly = args.includes("--check");
const file = args.find((a) => !a.startsWith("--")) || DEFAULT;
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const name = relative(root, file);
  const { text, changed } = patch(readFileSync(file, "utf8"));
  if (checkOnly) {
    console.log(`patch-runtime: ${name}: ${changed ? "table check present" : "no table check"}`);
    process.exit(changed ? 1 : 0);
  }
  if (changed) {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  }
  console.log(`patch-runtime: ${name}: ${changed ? "table check removed" : "nothing to do"}`);
}
