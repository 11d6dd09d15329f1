/** What the repository sub-domain offers the rest of Coffer. */
export { gonePacks } from "./gone-packs.ts";
export { PRUNE_PLAN_PREFIX, addPack, loadIndexFiles, saveIndex } from "./index-store.ts";
export { addKey, changePassword, exportMasterKey, listKeys, removeKey } from "./keys.ts";
export { Repository } from "./repository.ts";
export {
  ROOT,
  displayPath,
  joinPath,
  resolvePath,
  walkTree,
  type TreeLoader,
} from "./walk-tree.ts";
