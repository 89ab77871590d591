#!/usr/bin/env node
// Validates the Forge manifest (default: ../manifest.yml) offline.
//
//   node validate.mjs [path/to/manifest.yml] [--allow-missing-build]
//
// Step 1 is Atlassian's own validator: @forge/manifest's full validation (the processor behind
// `forge lint`): the bundled JSON schema, module rules, endpoint -> remote and module -> endpoint
// / resource references, scopes against Atlassian's scope list, resource folders, ... It is
// followed by the package's product-trigger check (each event's scopes are declared).
// Step 2 holds the checks that package does not make (see EXTRA CHECKS below), clearly ours.
// Exit code: 0 when both steps find no error, 1 otherwise (2 for bad usage). Warnings print but
// do not fail.
//
// --allow-missing-build: the manifest's resource is the Vite build (frontend/dist), which is not
// committed. With this flag a missing resource folder is replaced by an empty stub page in a
// temporary copy, so the rest of the manifest can be checked without building the frontend.

import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const forge = require('@forge/manifest');
const { ProcessorBuilder, ValidationTypes } = forge;
const SCHEMA = require('@forge/manifest/schema.json');
// Files the package does not export: read them from its folder (out/index.js is its main).
const forgeOut = dirname(require.resolve('@forge/manifest'));
const readJson = (path) => JSON.parse(readFileSync(join(forgeOut, path), 'utf8'));
const EVENT_SCOPES = readJson('mapping/product-event-to-scope-mapping.json');
const FORGE_MANIFEST_VERSION = readJson('../package.json').version;

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const allowMissingBuild = args.includes('--allow-missing-build');
const positional = args.filter((a) => !a.startsWith('--'));
const unknownFlags = args.filter((a) => a.startsWith('--') && a !== '--allow-missing-build');
if (unknownFlags.length || positional.length > 1) {
  console.error('usage: node validate.mjs [path/to/manifest.yml] [--allow-missing-build]');
  process.exit(2);
}
const manifestPath = resolve(positional[0] ?? join(here, '..', 'manifest.yml'));

const errors = [];
const warnings = [];
const report = (level, source, message, where) =>
  (level === 'error' ? errors : warnings).push({ source, message, where });

// ---------------------------------------------------------------------------------------------
// Step 1: @forge/manifest
// ---------------------------------------------------------------------------------------------

/** Runs one of the package's processors and reports its messages (each message only once:
 *  both processors start with the same schema step). */
const seen = new Set();
async function runForge(type, file) {
  const result = await ProcessorBuilder.instance().withValidation(type).build().process(file);
  for (const e of result.errors ?? []) {
    const where = e.line ? `line ${e.line}${e.column ? `:${e.column}` : ''}` : undefined;
    const id = `${e.level}|${where}|${e.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    report(e.level === 'warning' ? 'warning' : 'error', `@forge/manifest ${type}`, e.message, where);
  }
  return result;
}

/**
 * With --allow-missing-build: a temporary folder holding a copy of the manifest, where every
 * resource folder that exists is linked to the real one and every missing one is a stub page.
 */
async function stageMissingBuild(file) {
  const text = readFileSync(file, 'utf8');
  // The package's own YAML step (same parser and ${VARIABLE} handling as the full run).
  const parsed = await new forge.YamlValidator().validate({ filePath: file });
  const resources = parsed.manifestObject?.yamlContent?.resources;
  if (!Array.isArray(resources)) return null;
  const missing = resources.filter((r) => r?.path && !existsSync(resolve(dirname(file), r.path)));
  if (!missing.length) return null;
  const dir = mkdtempSync(join(tmpdir(), 'forge-manifest-'));
  writeFileSync(join(dir, 'manifest.yml'), text);
  for (const r of resources) {
    if (!r?.path || isAbsolute(r.path) || relative('.', r.path).startsWith('..')) continue;
    const target = join(dir, r.path);
    mkdirSync(dirname(target), { recursive: true });
    if (existsSync(resolve(dirname(file), r.path))) {
      symlinkSync(resolve(dirname(file), r.path), target);
    } else {
      mkdirSync(target, { recursive: true });
      writeFileSync(join(target, 'index.html'), '<!doctype html><title>stub</title>\n');
      report(
        'warning',
        'validate.mjs',
        `resource '${r.key}' (${r.path}) is not built; checked against a stub index.html`,
      );
    }
  }
  return dir;
}

let stageDir = null;
let fileToCheck = manifestPath;
if (!existsSync(manifestPath)) {
  console.error(`error: no manifest at ${manifestPath}`);
  process.exit(1);
}
if (allowMissingBuild) {
  stageDir = await stageMissingBuild(manifestPath);
  if (stageDir) fileToCheck = join(stageDir, 'manifest.yml');
}

let full;
try {
  full = await runForge(ValidationTypes.FULL, fileToCheck);
  await runForge(ValidationTypes.PRODUCT_TRIGGER, fileToCheck);
} finally {
  if (stageDir) rmSync(stageDir, { recursive: true, force: true });
}

// The parsed manifest, with ${VARIABLES} already replaced (from the environment, else the
// defaults declared under environment.variables), as Forge CLI would see it.
const manifest = full.manifestObject?.yamlContent;

// ---------------------------------------------------------------------------------------------
// Step 2: EXTRA CHECKS (ours, not Atlassian's). Each one covers something the package lets
// through; the comment above each says what and why.
// ---------------------------------------------------------------------------------------------

if (manifest && typeof manifest === 'object') {
  const modules = manifest.modules ?? {};
  const moduleSchemas = SCHEMA.definitions?.ModuleSchema?.properties ?? {};
  const endpoints = Array.isArray(modules.endpoint) ? modules.endpoint : [];
  const remotes = Array.isArray(manifest.remotes) ? manifest.remotes : [];
  const endpointByKey = new Map(endpoints.map((e) => [e?.key, e]));
  const remoteByKey = new Map(remotes.map((r) => [r?.key, r]));
  const extra = (message, level = 'error') => report(level, 'validate.mjs', message);

  const deref = (s) => (s?.$ref ? SCHEMA.definitions[s.$ref.split('/').pop()] : s);
  /** Property names any variant of a module type's schema declares. */
  const knownProps = (moduleType) => {
    const items = deref(deref(moduleSchemas[moduleType])?.items);
    const variants = items?.oneOf ?? items?.anyOf ?? [items];
    return new Set(variants.flatMap((v) => Object.keys(deref(v)?.properties ?? {})));
  };

  // EXTRA 1 - unknown properties. The bundled schema does not set additionalProperties: false on
  // most module entries (jira:adminPage, jira:issueGlance, endpoint, ...), so a misspelt or
  // misplaced property (e.g. `titel:`, `useAsConfg:`) is silently ignored by Forge. Allowed
  // names are the ones the bundled schema itself declares for that module type.
  for (const [moduleType, entries] of Object.entries(modules)) {
    if (!Array.isArray(entries) || !moduleSchemas[moduleType]) continue;
    const allowed = knownProps(moduleType);
    if (!allowed.size) continue;
    for (const entry of entries) {
      for (const prop of Object.keys(entry ?? {})) {
        if (!allowed.has(prop)) {
          extra(
            `modules.${moduleType} '${entry.key}': unknown property '${prop}' (the schema knows: ${[...allowed].sort().join(', ')})`,
          );
        }
      }
    }
  }
  // ... and one level down in endpoints, whose auth and route are open objects in the schema.
  for (const e of endpoints) {
    for (const prop of Object.keys(e?.auth ?? {})) {
      if (!['appSystemToken', 'appUserToken'].includes(prop))
        extra(`endpoint '${e.key}': unknown auth property '${prop}' (appSystemToken, appUserToken)`);
    }
    for (const prop of Object.keys(e?.route ?? {})) {
      if (prop !== 'path') extra(`endpoint '${e.key}': unknown route property '${prop}' (path)`);
    }
  }

  // EXTRA 2 - endpoint keys: the endpoint reference documents "a maximum of 23 characters"; the
  // schema sets no length for module keys.
  for (const e of endpoints) {
    if (typeof e?.key === 'string' && e.key.length > 23) extra(`endpoint '${e.key}': key longer than 23 characters`);
  }

  // EXTRA 3 - backend invocations. Forge POSTs events, scheduled triggers and pre-uninstall
  // calls to the endpoint's route.path, outside any user session. The package checks route and
  // "no appUserToken" for `trigger` only; the same holds for scheduledTrigger and preUninstall.
  // (A reference to an endpoint that does not exist is the package's own error.)
  const usedEndpoints = new Set();
  for (const moduleType of ['trigger', 'scheduledTrigger', 'preUninstall']) {
    for (const m of modules[moduleType] ?? []) {
      if (!m?.endpoint) continue;
      usedEndpoints.add(m.endpoint);
      const e = endpointByKey.get(m.endpoint);
      if (!e) continue;
      if (typeof e.route?.path !== 'string' || !e.route.path.startsWith('/')) {
        extra(`${moduleType} '${m.key}': endpoint '${e.key}' needs route.path starting with '/' (Forge POSTs there)`);
      }
      if (e.auth?.appUserToken?.enabled) {
        extra(`${moduleType} '${m.key}': endpoint '${e.key}' enables appUserToken, but these calls run without a user`);
      }
    }
  }

  // EXTRA 4 - UI resolvers. invokeRemote only works on a remote whose operations include
  // `compute` (remotes reference); and a resolver endpoint without any token cannot call Jira.
  for (const [moduleType, entries] of Object.entries(modules)) {
    if (!Array.isArray(entries)) continue;
    for (const m of entries) {
      const key = m?.resolver?.endpoint;
      if (!key) continue;
      usedEndpoints.add(key);
      const e = endpointByKey.get(key);
      const r = e && remoteByKey.get(e.remote);
      if (r && !(r.operations ?? []).includes('compute')) {
        extra(
          `${moduleType} '${m.key}': resolver endpoint '${key}' uses remote '${r.key}' without operations: [compute]`,
        );
      }
      if (e && !e.auth?.appSystemToken?.enabled && !e.auth?.appUserToken?.enabled) {
        extra(`${moduleType} '${m.key}': resolver endpoint '${key}' has no token enabled`, 'warning');
      }
    }
  }

  // EXTRA 5 - every endpoint is used by some module (an unused one is dead configuration).
  for (const e of endpoints) {
    if (e?.key && !usedEndpoints.has(e.key)) extra(`endpoint '${e.key}' is not used by any module`, 'warning');
  }

  // EXTRA 6 - remote base URLs. The package only checks a remote's URL when permissions
  // reference it; Forge Remote is HTTPS only. Checked after ${VARIABLE} substitution.
  for (const r of remotes) {
    const urls = typeof r?.baseUrl === 'string' ? [r.baseUrl] : Object.values(r?.baseUrl ?? {});
    for (const u of urls) {
      let ok = false;
      try {
        const url = new URL(u);
        ok = url.protocol === 'https:' && !!url.hostname && !url.search && !url.hash;
      } catch {
        ok = false;
      }
      if (!ok) extra(`remote '${r.key}': baseUrl '${u}' is not an absolute https:// URL without query or fragment`);
    }
  }

  // EXTRA 7 - event names. `events` is any string to the schema, so a misspelt event is
  // accepted and never delivered. Known names: the package's product-event -> scope mapping,
  // plus the Forge life-cycle events documented under events-reference/life-cycle.
  const LIFECYCLE_EVENTS = ['avi:forge:installed:app', 'avi:forge:upgraded:app'];
  const knownEvents = new Set([...(EVENT_SCOPES.mapping ?? []).map((m) => m.productEvent), ...LIFECYCLE_EVENTS]);
  for (const t of modules.trigger ?? []) {
    for (const ev of t?.events ?? []) {
      const name = typeof ev === 'string' ? ev : ev?.eventType;
      if (name && !knownEvents.has(name)) extra(`trigger '${t.key}': unknown event '${name}'`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const show = (label, list) => {
  for (const { source, message, where } of list) {
    console.log(`${label} [${source}]${where ? ` ${where}` : ''}: ${message}`);
  }
};
show('warning', warnings);
show('error', errors);
const rel = relative(process.cwd(), manifestPath);
const name = rel && !rel.startsWith('..') ? rel : manifestPath;
if (errors.some((e) => /missing resource/.test(e.message))) {
  console.log('hint: build the frontend first (cd frontend && npm ci && npm run build), or pass --allow-missing-build');
}
if (errors.length) {
  console.log(
    `FAIL ${name}: ${errors.length} error(s), ${warnings.length} warning(s) (@forge/manifest ${FORGE_MANIFEST_VERSION})`,
  );
  process.exit(1);
}
console.log(`OK ${name}: valid (@forge/manifest ${FORGE_MANIFEST_VERSION}, ${warnings.length} warning(s))`);
