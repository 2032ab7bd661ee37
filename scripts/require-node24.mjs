// Fails loudly when an npm script runs on a Node older than 24. npm falls back to the
// system Node (20 on our machines) when the `node` devDependency's install script was
// skipped, and half the stack then breaks in confusing ways (slonik needs
// Promise.withResolvers, graphile-worker 0.18 and PostGraphile 5 need >= 22).
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(
    `Settle needs Node >= 24, but this script runs on Node ${process.version} (${process.execPath}).\n` +
      "The project brings Node 24 as the `node` devDependency; its install script must run.\n" +
      "Fix: `npm ci` without --ignore-scripts (package.json `allowScripts` approves it), then retry.",
  );
  process.exit(1);
}
