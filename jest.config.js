/** Unit and construct tests run in one project; the lab (real processes, root) in another. */
const transform = { "^.+\\.ts$": ["ts-jest", {}] }; // isolatedModules comes from tsconfig.json: transpile only, type-check with tsc
const common = { testEnvironment: "node", transform, setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"] };
module.exports = {
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/__tests__/**/*.test.ts"], testPathIgnorePatterns: ["/__tests__/lab/"] },
    { ...common, displayName: "lab", testMatch: ["<rootDir>/__tests__/lab/**/*.test.ts"] },
  ],
};
