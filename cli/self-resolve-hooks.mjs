// Module resolve hook (see self-resolve.mjs): `chatlab` and `chatlab/<path>`
// resolve from this package's root, through its "exports"; every other
// specifier resolves as usual.
const self = new URL('../package.json', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'chatlab' || specifier.startsWith('chatlab/')) return next(specifier, { ...context, parentURL: self });
  return next(specifier, context);
}
