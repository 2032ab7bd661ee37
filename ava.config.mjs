// Tests are TypeScript run through tsx. Worker threads would not get tsx's loader
// (tsx#354), so each test file runs in its own child process.
export default {
  files: ["test/**/*.test.ts"],
  extensions: { ts: "module" },
  nodeArguments: ["--import=tsx"],
  workerThreads: false,
  timeout: "2m",
  environmentVariables: { GRAPHILE_ENV: "test" },
};
