// Lets a scenario file anywhere on disk import chatlab's own modules as
// `chatlab/...` (the README's example does): such a specifier is resolved as
// if it were imported from inside this package, where Node's self-reference
// through package.json "exports" finds it. Registered by bin/chatlab.js.
//
// Two loaders can meet the specifier: the ESM resolve hook (a scenario file
// in a folder whose package.json says "type": "module") and CommonJS
// resolution (a .ts file in a folder with no package.json, which tsx loads as
// CommonJS), so both are covered.
import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';

register('./self-resolve-hooks.mjs', import.meta.url);

const rootPackage = fileURLToPath(new URL('../package.json', import.meta.url));
// A stand-in parent module inside the package: resolution from it finds the package itself.
const insider = new Module(rootPackage);
insider.filename = rootPackage;
insider.paths = Module._nodeModulePaths(fileURLToPath(new URL('..', import.meta.url)));
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request === 'chatlab' || request.startsWith('chatlab/')) return resolveFilename.call(this, request, insider, ...rest);
  return resolveFilename.call(this, request, parent, ...rest);
};
