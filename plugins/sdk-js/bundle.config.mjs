/**
 * The Rolldown options `jco componentize --bundle` merges in when building a
 * plugin (`--bundle-config`): the contract's interfaces are imports of the
 * component, not modules to bundle, so they stay external (silently).
 */
export default {
  external: [/^crawlhost:plugin\//],
};
