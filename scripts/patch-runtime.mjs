// Makes MicroPython's JavaScript glue behave as a release build, once, after `npm ci`.
//
// The published @micropython/micropython-webassembly-pyscript is built with emscripten's
// assertions on. Three edits, each found by its shape, each applied at most once (running
// again finds nothing to do); nothing else in the file changes.
//
// 1. The function-table check. MicroPython's exceptions are setjmp/longjmp, which
//    emscripten routes through small JavaScript trampolines, so nearly every call the
//    bytecode VM makes goes out to JavaScript, fetches the target from a cached mirror of
//    the wasm function table, and then, only because of the assertion, fetches it again
//    from the table itself to compare. That second lookup is about a fifth of a track()
//    call on MicroPython (docs/performance.md, "MicroPython: the runtime work"). The mirror
//    stays, and the runtime still aborts on a real fault.
// 2. The file-system error. Every miss on the in-memory file system (each `import` looks
//    for a directory and a .py before the .mpy it loads: ~100 misses while pyajs starts)
//    builds an ErrnoError that, in this build, is an Error (a stack trace captured) whose
//    message is looked up in the wasm and whose code is searched for in a table. The glue
//    reads only its `name` and `errno`: the release build's plain object with those two.
// 3. A compile hint: `//# allFunctionsCalledOnLoad` on the first line asks Chromium to
//    compile the glue's functions while the file downloads, off the main thread, instead
//    of one by one on the main thread as the runtime starts, where most of them run.
//
// `--check` only reports (exit 1 while an edit is still to be made), for the tests.
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
// ErrnoError:class extends Error{name="ErrnoError";constructor(errno){…}}, up to the
// constructor's end (its body holds exactly two levels of braces)
const ERRNO_CLASS = /ErrnoError:class extends Error\{name="ErrnoError";constructor\((\w+)\)\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}\}/g;
const ERRNO_RELEASE = 'ErrnoError:class{name="ErrnoError";constructor($1){this.errno=$1}}';
const HINT = "//# allFunctionsCalledOnLoad\n";

function once(text, pattern, what) {
  const found = text.match(pattern) || [];
  if (found.length > 1) throw new Error(`${what} occurs ${found.length} times; expected once`);
  return found.length === 1;
}

// {text, changed, edits: the names of the edits made}
export function patch(text) {
  const edits = [];
  if (once(text, TABLE_CHECK, "the table check")) {
    if (!MIRROR.test(text)) throw new Error("no getWasmTableEntry: not the expected glue");
    text = text.replace(TABLE_CHECK, "");
    edits.push("table check removed");
  }
  if (once(text, ERRNO_CLASS, "the debug ErrnoError")) {
    text = text.replace(ERRNO_CLASS, ERRNO_RELEASE);
    edits.push("ErrnoError as in a release build");
  }
  if (!text.startsWith(HINT)) {
    text = HINT + text;
    edits.push("compile hint added");
  }
  return { text, changed: edits.length > 0, edits };
}

const args = process.argv.slice(2);
const checkOnly = args.includes("--check");
const file = args.find((a) => !a.startsWith("--")) || DEFAULT;
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const name = relative(root, file);
  const { text, changed, edits } = patch(readFileSync(file, "utf8"));
  if (checkOnly) {
    console.log(`patch-runtime: ${name}: ${changed ? `to do: ${edits.join(", ")}` : "patched"}`);
    process.exit(changed ? 1 : 0);
  }
  if (changed) {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  }
  console.log(`patch-runtime: ${name}: ${changed ? edits.join(", ") : "nothing to do"}`);
}
