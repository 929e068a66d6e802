/**
 * Three projects, all run by `jest`; `npm test` runs unit + servers with two workers, then lab alone:
 *  - unit: the templates, constructs, targets and the app's code, with the quick real validators
 *    (haproxy -c, nginx -t, promtool, nft -c, ...): no server is started;
 *  - servers: the files that start real servers or toolchains (MariaDB, HAProxy + keepalived,
 *    Nginx, the exporters as a container's PID 1 in a namespace; npm pack + install; API Extractor),
 *    SERVER_TESTS below;
 *  - lab: the end-to-end lab (real processes of a whole stack, root).
 * `jest --selectProjects unit` is the fast part (bench/README.md's figure).
 */
const transform = { "^.+\\.ts$": ["ts-jest", {}] }; // isolatedModules comes from tsconfig.json: transpile only, type-check with tsc
// The cache inside the repo, not /tmp/jest_*: the run leaves nothing in the temp dir.
const common = {
  testEnvironment: "node",
  transform,
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
  cacheDirectory: "<rootDir>/node_modules/.cache/jest",
};
/** The test files that start servers or toolchains (the `servers` project); every other file outside __tests__/lab is `unit`. */
const SERVER_TESTS = [
  "pack/pack.test.ts",
  "api/api-report.test.ts",
  "app/mariadb-writes-reads.test.ts",
  "templates/database-backup.test.ts",
  "templates/database-binlog-archiver.test.ts",
  "templates/database-restore.test.ts",
  "templates/database-failover.test.ts",
  "templates/haproxy-stats-auth.test.ts",
  "templates/haproxy-checks.test.ts",
  "templates/database-start.test.ts",
  "templates/load-balancer-start.test.ts",
  "templates/monitoring-start.test.ts",
  "templates/mysql.test.ts",
  "templates/web-start.test.ts",
];
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
module.exports = {
  // Around the whole run, whichever projects it selects: a per-run TMPDIR, and a check that the tests
  // left nothing on the machine (host paths, temp dir, network namespaces); see __tests__/helpers/host-state.ts.
  globalSetup: "<rootDir>/__tests__/helpers/global-setup.ts",
  globalTeardown: "<rootDir>/__tests__/helpers/global-teardown.ts",
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: ["<rootDir>/__tests__/**/*.test.ts"],
      testPathIgnorePatterns: ["/__tests__/lab/", ...SERVER_TESTS.map((f) => `/__tests__/${escapeRegExp(f)}$`)],
    },
    { ...common, displayName: "servers", testMatch: SERVER_TESTS.map((f) => `<rootDir>/__tests__/${f}`) },
    { ...common, displayName: "lab", testMatch: ["<rootDir>/__tests__/lab/**/*.test.ts"] },
  ],
};
