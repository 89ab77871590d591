#!/usr/bin/env node
// Verifies tokens minted by the Rust crate with Atlassian's atlassian-jwt: signature and qsh.
//   node verify.js tokens.json     ({secret, tokens: [{method, url, baseUrl, token}]})
"use strict";
const fs = require("fs");
const jwt = require("atlassian-jwt");
const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
let bad = 0;
for (const t of input.tokens) {
  try {
    const claims = jwt.decodeSymmetric(t.token, input.secret, jwt.SymmetricAlgorithm.HS256);
    const qsh = jwt.createQueryStringHash(jwt.fromMethodAndUrl(t.method, t.url), false, t.baseUrl);
    if (claims.qsh !== qsh) { bad++; console.error(`qsh mismatch for ${t.method} ${t.url}`); }
  } catch (e) {
    bad++; console.error(`rejected ${t.method} ${t.url}: ${e.message}`);
  }
}
console.log(`${input.tokens.length - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
