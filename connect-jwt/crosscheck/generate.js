#!/usr/bin/env node
// Generates requests with awkward paths and queries and records what Atlassian's own
// atlassian-jwt computes for them (canonical request, qsh, a signed token), for the Rust test
// connect-jwt/tests/atlassian_jwt_crosscheck.rs.
//   node generate.js [COUNT] [SEED] > cases.json
"use strict";
const jwt = require("atlassian-jwt");

const count = Number(process.argv[2] || 400);
let seed = Number(process.argv[3] || 20261125) >>> 0;
// mulberry32: a small deterministic PRNG, so the committed fixture can be regenerated exactly.
function rnd() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = a => a[Math.floor(rnd() * a.length)];
const int = n => Math.floor(rnd() * n);

// Characters that reach a server unchanged in a path (url.parse would re-escape ' " space etc.).
const PATH_CHARS = "abcXYZ019-._~!$&()*+,;=:@".split("").concat(["%20", "%2F", "%C3%A9", "%26", "%E5%AE%AE"]);
const TEXT = ["a", "Z", "9", " ", "+", "&", "=", "~", "*", "'", "(", ")", "!", "%", ",", "/", "?", "#",
  "é", "宮", "😀", "-", "_", ".", ":", "@", "$", ";", "[", "]", "\"", "<", ">", "^", "`", "{", "}", "|", "\\"];
const BASES = ["https://app.example.com", "https://app.example.com/base", "https://app.example.com/base/",
  "https://app.example.com/a&b"];

function word(min, max) {
  let s = "";
  const n = min + int(max - min + 1);
  for (let i = 0; i < n; i++) s += pick(TEXT);
  return s;
}
// Encodes a query component the way different clients do: RFC 3986, or '+' for spaces, or
// leaving safe characters raw.
function encodeComponent(s) {
  switch (int(3)) {
    case 0: return encodeURIComponent(s);
    case 1: return encodeURIComponent(s).replace(/%20/g, "+");
    default: return encodeURIComponent(s).replace(/%2A/g, "*").replace(/%7E/g, "~").replace(/%40/g, "@").replace(/%3A/g, ":");
  }
}

const secret = "crosscheck-shared-secret-0123456789";
const cases = [];
for (let i = 0; i < count; i++) {
  const base = pick(BASES);
  const basePath = base.replace(/^https:\/\/[^/]+/, "");
  let path = int(5) === 0 ? "" : basePath.replace(/\/$/, "");
  const segs = int(4);
  for (let s = 0; s < segs; s++) {
    path += "/";
    const n = int(6);
    for (let c = 0; c < n; c++) path += pick(PATH_CHARS);
  }
  if (int(3) === 0) path += "/";
  if (path === "") path = "/";
  const params = [];
  const nparams = int(6);
  const keys = [];
  for (let p = 0; p < nparams; p++) {
    // Repeated keys and empty values on purpose.
    const key = keys.length && int(3) === 0 ? pick(keys) : word(1, 4);
    keys.push(key);
    const value = int(5) === 0 ? "" : word(0, 6);
    params.push(int(8) === 0 ? encodeComponent(key) : encodeComponent(key) + "=" + encodeComponent(value));
  }
  if (int(4) === 0) params.splice(int(params.length + 1), 0, "jwt=ignored.token.value");
  const query = params.join("&");
  const url = base.replace(/^(https:\/\/[^/]+).*$/, "$1") + path + (query || int(2) ? "?" + query : "");
  const method = pick(["GET", "POST", "PUT", "DELETE", "get"]);
  const req = jwt.fromMethodAndUrl(method, url);
  const canonical = jwt.createCanonicalRequest(req, false, base);
  const qsh = jwt.createQueryStringHash(req, false, base);
  const token = jwt.encodeSymmetric({ iss: "crosscheck", iat: 1700000000, exp: 4102444800, qsh }, secret,
    jwt.SymmetricAlgorithm.HS256);
  cases.push({ method, url, baseUrl: base, canonical, qsh, token });
}
process.stdout.write(JSON.stringify({ generator: "atlassian-jwt " + require("atlassian-jwt/package.json").version, secret, cases }, null, 1) + "\n");
