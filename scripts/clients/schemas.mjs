// Compile every tool schema of a tools/list result with Ajv (JSON Schema 2020-12), as a
// TypeScript MCP host does before it validates arguments or structured output.
//
//   node schemas.mjs TOOLS_LIST.json CLIENTS_DIR   (CLIENTS_DIR: where npm ci put node_modules)
//
// The Inspector's --strict reports portability problems, not validity: a schema with
// `"type": "strnig"` passes it. This catches that. Prints one line; exit 1 on any invalid schema.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";

const require = createRequire(resolve(process.argv[3] ?? ".", "package.json"));
const Ajv2020 = require("ajv/dist/2020.js").default;

const file = process.argv[2];
let listing;
try {
  const text = readFileSync(file, "utf8");
  listing = JSON.parse(text.slice(text.indexOf("{")));
} catch (error) {
  console.log(`cannot read a tools/list result from ${file}: ${error.message}`);
  process.exit(1);
}

// strict: false keeps Ajv to validity (unknown keywords such as x-* annotations are legal);
// formats are annotations for a host, not something to fail on here.
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const problems = [];
let compiled = 0;
for (const tool of listing.tools ?? []) {
  for (const key of ["inputSchema", "outputSchema"]) {
    const schema = tool[key];
    if (schema === undefined) continue;
    try {
      ajv.compile(schema);
      compiled += 1;
    } catch (error) {
      problems.push(`${tool.name}.${key}: ${error.message.slice(0, 200)}`);
    }
  }
}
if (problems.length) {
  console.log(`${problems.length} invalid schema(s): ${problems.slice(0, 3).join(" | ")}`);
  process.exit(1);
}
if (compiled === 0) {
  console.log("no schemas to compile");
  process.exit(1);
}
console.log(`${compiled} schemas (input and output) compile with Ajv ${require("ajv/package.json").version}, 2020-12`);
