/**
 * Import rules for the Custos packages, checked by `npm run deps` (part of `npm test`).
 *
 * - No import cycles anywhere.
 * - Packages (their src/): web -> sdk -> protocol, node -> protocol; only node's cli/ and demo/ may
 *   use the sdk. Tests may also use @custos/test-utils and, for fixtures, @custos/node.
 *   Nothing reaches into another package's folder by relative path: packages import each other by
 *   package name (@custos/protocol, ...), tests included.
 * - packages/node/src is layered, lowest first; a file imports only from its own layer or a lower
 *   one (the table below). A new folder or top-level file must be added to the table: files outside
 *   it fail the `node-layer-unknown` rule.
 *
 * There is no baseline of tolerated violations: every rule holds for the whole tree.
 * dependency-cruiser is a devDependency only (pinned to 17.x, the last line that supports Node 20).
 */
const NODE = '^packages/node/src/';

/** The node layers, lowest first: folders end with '/', files are named with their extension. */
const LAYERS = [
  ['errors.ts', 'result-codes.ts', 'files.ts', 'home-lock.ts', 'invocation.ts', 'crypto/'],
  ['exec/', 'modules/', 'governance/', 'contracts/', 'genesis.ts'],
  ['store/', 'vault/', 'keys/', 'ordering/', 'wallet/', 'home.ts'],
  ['peer/', 'node.ts', 'proofs.ts', 'audit.ts', 'audit/'],
  ['consortium/', 'orgs/', 'interop/', 'subject/', 'passkeys/', 'connectors/'],
  ['api/', 'demo/'],
  ['cli/', 'bin/', 'index.ts'],
];

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const entryPattern = (e) => (e.endsWith('/') ? escapeRegExp(e) : `${escapeRegExp(e)}$`);
const layerPath = (entries) => `${NODE}(${entries.map(entryPattern).join('|')})`;
const KNOWN = layerPath(LAYERS.flat());

const layerRules = LAYERS.slice(0, -1).map((entries, i) => ({
  name: `node-layer-${i + 1}`,
  severity: 'error',
  comment: `packages/node/src layer L${i + 1} (${entries.join(', ')}) may import only from L1..L${i + 1}`,
  from: { path: layerPath(entries) },
  to: { path: layerPath(LAYERS.slice(i + 1).flat()) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make the load order and the layering undefined.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'protocol-imports-no-package',
      severity: 'error',
      comment: 'protocol is the bottom package: it imports no other Custos package.',
      from: { path: '^packages/protocol/src/' },
      to: { path: ['^packages/(sdk|node|web|test-utils)/', '^node_modules/@custos/(sdk|node|web|test-utils)'] },
    },
    {
      name: 'sdk-imports-only-protocol',
      severity: 'error',
      comment: 'sdk -> protocol only.',
      from: { path: '^packages/sdk/src/' },
      to: { path: ['^packages/(node|web)/', '^node_modules/@custos/(node|web)'] },
    },
    {
      name: 'web-imports-no-node',
      severity: 'error',
      comment: 'web -> sdk -> protocol; the web app never imports the node.',
      from: { path: '^packages/web/src/' },
      to: { path: ['^packages/node/', '^node_modules/@custos/node'] },
    },
    {
      name: 'node-uses-sdk-only-in-cli-and-demo',
      severity: 'error',
      comment: "node -> protocol; only node's cli/ and demo/ may use the sdk.",
      from: { path: NODE, pathNot: `${NODE}(cli|demo)/` },
      to: { path: ['^packages/sdk/', '^node_modules/@custos/sdk'] },
    },
    {
      name: 'no-relative-reach-into-other-package',
      severity: 'error',
      comment: 'Import another package by its name, never its src/, test/ or dist/ folder by relative path.',
      from: { path: '^packages/([^/]+)/' },
      to: {
        path: '^packages/([^/]+)/',
        pathNot: ['^packages/$1/'],
        dependencyTypes: ['local'],
        dependencyTypesNot: ['aliased'],
      },
    },
    ...layerRules,
    {
      name: 'node-layer-unknown',
      severity: 'error',
      comment:
        'This file of packages/node/src is in no layer: add its folder (or file) to the LAYERS table of .dependency-cruiser.cjs.',
      from: { path: NODE, pathNot: KNOWN },
      to: {},
    },
  ],
  options: {
    // Another package's built files stay in the graph (so a package import shows whose it is) but
    // are not followed.
    doNotFollow: { path: ['node_modules', '/dist/'] },
    exclude: { path: ['(^|/)node_modules/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
