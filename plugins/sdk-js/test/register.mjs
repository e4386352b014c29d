/**
 * `node --import ./test/register.mjs --test test/`: installs the resolve
 * hook that maps the contract's imports to the fakes, so the SDK's modules
 * load under Node without componentize.
 */
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
