#!/usr/bin/env node
// Seals the committed migrations in sql/committed: writes the `--! Previous:` and
// `--! Hash:` headers graphile-migrate checks, chaining each file to the one before.
// Use it on files that have not been released yet; a released migration is
// immutable (edit = new migration), and `--check` (run in CI) fails on any drift.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = new URL("../sql/committed/", import.meta.url).pathname;
const check = process.argv.includes("--check");
// graphile-migrate's own hash: sha1 over "<previous hash>\n<trimmed body>\n".
const hashOf = (body, previous) =>
  "sha1:" +
  createHash("sha1")
    .update(`${`${previous ?? ""}\n${body.trim()}`.trim()}\n`)
    .digest("hex");

let previous = null;
let drift = 0;
for (const file of readdirSync(dir)
  .filter((f) => /^\d+(-[-\w]+)?\.sql$/.test(f))
  .sort()) {
  const path = join(dir, file);
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n");
  let i = 0;
  const headers = {};
  for (; i < lines.length && lines[i].startsWith("--! "); i++) {
    const m = /^--! ([A-Z][a-zA-Z0-9_]*)(?::\s*(.*))?$/.exec(lines[i]);
    if (m) headers[m[1]] = m[2] ?? null;
  }
  const body = `${lines.slice(i).join("\n").trim()}\n`;
  const hash = hashOf(body, previous);
  const message =
    headers.Message ??
    file
      .replace(/^\d+-?/, "")
      .replace(/\.sql$/, "")
      .replace(/-/g, " ");
  const sealed = `--! Previous: ${previous ?? "-"}\n--! Hash: ${hash}\n--! Message: ${message}\n\n${body}`;
  if (sealed !== text) {
    drift++;
    if (check)
      console.error(`${file}: headers do not match its content (run npm run seal-migrations)`);
    else writeFileSync(path, sealed);
  }
  previous = hash;
}
if (check && drift) process.exit(1);
console.log(check ? "migrations sealed" : `${drift} migration file(s) sealed`);
