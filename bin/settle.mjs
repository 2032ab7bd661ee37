#!/usr/bin/env node
// `npx settle …`: the operator CLI. npx puts node_modules/.bin first on PATH, so this
// runs on the project's Node 24; the guard says so loudly if it does not. The
// TypeScript sources run through tsx, with the project's tsconfig wherever the
// command is started from.
import { fileURLToPath } from "node:url";

await import("../scripts/require-node24.mjs");
const { register } = await import("tsx/esm/api");
register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
await import("../src/cli/main.ts");
