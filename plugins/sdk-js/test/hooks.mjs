/**
 * Module resolve hook for the unit tests: `crawlhost:plugin/<iface>@0.3.0`
 * resolves to `fakes/<iface>.js`, an in-memory stand-in for the host.
 */
const PREFIX = /^crawlhost:plugin\/([a-z-]+)@0\.3\.0$/;

/**
 * @param {string} specifier
 * @param {object} context
 * @param {Function} next
 */
export async function resolve(specifier, context, next) {
  const m = PREFIX.exec(specifier);
  if (!m) return next(specifier, context);
  return { url: new URL(`./fakes/${m[1]}.js`, import.meta.url).href, shortCircuit: true };
}
