// The one-way layering of orx, checked by `npm run lint` (DESIGN.md, README "Development").
// Imports go down this list, never up:
//
//   5 commands/                     parse flags, call one use-case, hand its result to a view
//   4 src/cli  src/app              terminal concerns; use-cases returning typed results
//   3 src/engine  src/dr            desired state, planner, plan file, executor; DR plans and steps
//   2 src/resources  src/egress  src/policy  src/secrets  src/trust  src/audit  src/sim
//   1 src/drivers  src/ledger  src/config  src/k8s
//   0 src/util  src/errors.ts  src/exit-codes.ts  src/cli-argv.ts
//
// src/ui (views and the review screen) sits beside the layers: it may read any layer's
// types, and only commands, cli and app may reach it.
const LAYERS = [
  ['^src/(util/|errors\\.ts$|exit-codes\\.ts$|cli-argv\\.ts$)'],
  ['^src/(drivers|ledger|config|k8s)/'],
  ['^src/(resources|egress|policy|secrets|trust|audit|sim)/'],
  ['^src/(engine|dr)/'],
  ['^src/(cli|app)/'],
  ['^commands/'],
];

const higher = (i) => LAYERS.slice(i + 1).flat();

const layerRules = LAYERS.slice(0, -1).map((paths, i) => ({
  name: `layer-${i}-imports-upward`,
  comment: `${paths.join(' ')} is layer ${i}: it may import only from its own layer or below`,
  severity: 'error',
  from: {path: paths},
  to: {path: higher(i)},
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'import cycles, type-only ones included, mean a type or a function lives in the wrong module',
      severity: 'error',
      from: {},
      to: {circular: true},
    },
    ...layerRules,
    {
      name: 'ui-only-from-the-top',
      comment: 'views are chosen by commands, cli and app; the domain returns data, never text',
      severity: 'error',
      from: {path: '^(src|commands)/', pathNot: '^(commands/|src/(cli|app|ui)/)'},
      to: {path: '^src/ui/'},
    },
    {
      name: 'ui-not-the-top',
      comment: 'a view renders a result; it never runs a use-case or reads flags',
      severity: 'error',
      from: {path: '^src/ui/'},
      to: {path: '^(commands/|src/(cli|app)/)', dependencyTypesNot: ['type-only']},
    },
    {
      name: 'thin-commands',
      comment: 'no ledger, Docker, SQL, crypto or process control in commands/: that belongs to a use-case in src/app',
      severity: 'error',
      from: {path: '^commands/'},
      to: {
        path: ['^src/(ledger|drivers)/', '(^|/)node_modules/(better-sqlite3|dockerode|execa)/', '^(node:)?(crypto|child_process)$'],
      },
    },
    {
      name: 'commands-through-app',
      comment: 'a command parses flags, calls one use-case in src/app and hands its result to a view in src/ui',
      severity: 'error',
      from: {path: '^commands/'},
      to: {path: '^src/', pathNot: '^src/(cli|app|ui|util)/|^src/(errors|exit-codes)\\.ts$'},
    },
    {
      name: 'sql-only-in-ledger',
      comment: 'SQLite and the ledger session (db.ts) stay inside src/ledger: everything else goes through its repositories',
      severity: 'error',
      from: {path: '^(src|commands)/', pathNot: '^src/ledger/'},
      to: {path: ['(^|/)node_modules/better-sqlite3/', '^src/ledger/db\\.ts$']},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: {couldNotResolve: true},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    exclude: {path: '^(dist|coverage|node_modules)/'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: {text: {highlightFocused: true}},
  },
};
