/**
 * The import graph runs one way (README "Layout"): a folder may import only from the layers below
 * it, never from a layer above nor from a sibling of its own layer. `npm run lint` fails otherwise.
 */
const LAYERS = [
  ['core'],
  ['schemas', 'stack'],
  ['projections'],
  ['processors', 'producers'],
  ['api', 'replay', 'retention'],
  ['service'],
  ['demo', 'bench'],
  ['cli'],
];

const folderRules = LAYERS.flatMap((layer, rank) =>
  layer.map((folder) => {
    const above = LAYERS.slice(rank + 1).flat();
    const siblings = layer.filter((other) => other !== folder);
    return {
      name: `${folder}-imports-down-only`,
      comment: `${folder}/ may import only from ${LAYERS.slice(0, rank).flat().join(', ') || 'node and npm packages'}`,
      severity: 'error',
      from: { path: `^${folder}/` },
      to: { path: `^(${[...above, ...siblings].join('|')})/` },
    };
  }),
);

module.exports = {
  forbidden: [
    ...folderRules,
    {
      name: 'no-circular',
      comment: 'no import cycle between files',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-test',
      comment: 'production code never imports the tests',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.stack|coverage)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
