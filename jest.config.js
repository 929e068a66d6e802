/** Unit and construct tests run in one project; the lab (real processes, root) in another. */
const transform = { "^.+\\.ts$": ["ts-jest", {}] }; // isolatedModules comes from tsconfig.json: transpile only, type-check with tsc
// The cache inside the repo, not /tmp/jest_*: the run leaves nothing in the temp dir.
const common = {
  testEnvironment: "node",
  transform,
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
  cacheDirectory: "<rootDir>/node_modules/.cache/jest",
};
module.exports = {
  // Around the whole run, whichever projects it selects: a per-run TMPDIR, and a check that the tests
  // left nothing on the machine (host paths, temp dir, network namespaces); see __tests__/helpers/host-state.ts.
  globalSetup: "<rootDir>/__tests__/helpers/global-setup.ts",
  globalTeardown: "<rootDir>/__tests__/helpers/global-teardown.ts",
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/__tests__/**/*.test.ts"], testPathIgnorePatterns: ["/__tests__/lab/"] },
    { ...common, displayName: "lab", testMatch: ["<rootDir>/__tests__/lab/**/*.test.ts"] },
  ],
};
