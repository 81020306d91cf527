// Runs a Python file under MicroPython 1.27 (PyScript's `mpy` runtime, from npm) in Node.js,
// with the pyajs package on its path: proof that the pure core runs on both runtimes.
//   node tests/micropython/run.mjs tests/micropython/core_check.py
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const { loadMicroPython } = await import(
  path.join(root, "node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs"));
const mp = await loadMicroPython({
  stdout: (line) => console.log(line),
  stderr: (line) => console.log(line),
});

// PYAJS_LIB: a folder holding the package as the page gets it (e.g. compiled to .mpy)
const copy = (from, to) => {
  mp.FS.mkdir(to);
  for (const name of fs.readdirSync(from)) {
    if (/\.m?py$/.test(name)) mp.FS.writeFile(`${to}/${name}`, fs.readFileSync(path.join(from, name)));
  }
};
mp.FS.mkdir("/lib");
copy(process.env.PYAJS_LIB || path.join(root, "pysrc/pyajs"), "/lib/pyajs");
mp.FS.mkdir("/checks");
mp.FS.writeFile("/checks/fakes.py", fs.readFileSync(path.join(root, "tests/fakes.py")));

try {
  mp.runPython(fs.readFileSync(process.argv[2], "utf8"));
} catch (err) {
  console.log(String((err && err.message) || err).slice(0, 4000));
  process.exit(1);
}
