#!/usr/bin/env node
// Compiles every schema of docs/schemas and validates the examples it carries, so that a
// JSON Schema validator other than pydantic agrees with the published documents.
//   node check-schemas.js [schemas dir]      exit 0, or 1 with each failure on stderr
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");

const dir = path.resolve(process.argv[2] || path.join(__dirname, "..", "..", "docs", "schemas"));
const index = JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

let schemas = 0;
let examples = 0;
const failures = [];
for (const [topic, { messages }] of Object.entries(index.topics)) {
  for (const [type, entry] of Object.entries(messages)) {
    const schema = JSON.parse(fs.readFileSync(path.join(dir, entry.schema), "utf8"));
    const check = ajv.compile(schema);
    schemas += 1;
    for (const example of schema.examples || []) {
      examples += 1;
      if (example.type !== type || !check(example)) {
        failures.push(`${topic} ${type}: ${ajv.errorsText(check.errors)}`);
      }
    }
  }
}
for (const failure of failures) console.error(failure);
console.log(`${schemas} schemas compiled, ${examples} examples checked, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
