// Which way imports may point. `npm run depcruise` checks the whole tree;
// system/layering.test.ts runs the same rules in the unit suite (see there for
// the rules the tree does not keep yet). docs/architecture.md draws the layers.

/** Folders above system/: they drive, break or judge the cluster, never the other way round. */
const ABOVE_SYSTEM = '^(scenarios|chaos|reports|cli|bench|plan)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Files that import each other load in an order that depends on who is imported first. ' +
        'A type-only import is erased before the code runs, so a loop through one is allowed.',
      from: {},
      to: {
        circular: true,
        dependencyTypesNot: ['type-only'],
        viaOnly: { dependencyTypesNot: ['type-only'] },
      },
    },
    {
      name: 'system-not-upward',
      severity: 'error',
      comment:
        'system/ is the cluster: it must run without the testbed. Scenarios, chaos, reports, the CLI, ' +
        'benchmarks and plans use system/, never the other way round.',
      from: { path: '^system/' },
      to: { path: ABOVE_SYSTEM },
    },
    {
      name: 'worlds-on-top-of-system',
      severity: 'error',
      comment:
        'system/worlds/ wires nodes, adapters and drivers into a running cluster; nothing it wires may ' +
        'depend on it back. Tests and system/testing/ (fixtures that start a world) may.',
      from: { path: '^system/', pathNot: ['^system/(worlds|testing)/', '[.]test[.]ts$'] },
      to: { path: '^system/worlds/' },
    },
    {
      name: 'drivers-below-adapters',
      severity: 'error',
      comment:
        'system/drivers/ holds the store clients the adapters are written on; of the project they may use ' +
        'only the protocol (its errors).',
      from: { path: '^system/drivers/', pathNot: '[.]test[.]ts$' },
      to: { path: '^(system|scenarios|chaos|reports|cli|bench|plan)/', pathNot: '^system/(drivers|protocol)/' },
    },
    {
      name: 'reports-only-protocol',
      severity: 'error',
      comment:
        'reports/ judges a recorded history: of the project it may know only the wire protocol ' +
        '(system/protocol), so a report can be re-checked without a cluster, an engine or a world.',
      from: { path: '^reports/' },
      to: { path: '^(system|scenarios|chaos|cli|bench|plan)/', pathNot: '^system/protocol/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    // Type-only imports are kept (and marked type-only) so the layer rules see them too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
