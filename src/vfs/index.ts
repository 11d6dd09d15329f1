/**
 * The read-only browse tree of a repository (issue 18), shared by `coffer mount` (FUSE),
 * `coffer serve webdav` and any other viewer. It knows nothing of FUSE or HTTP.
 */
export { BrowseTree, type BrowseTreeOptions, type VfsSource } from "./browse-tree.ts";
export { BlobCache } from "./blob-cache.ts";
export { hashIno, ROOT_INO } from "./ino.ts";
export {
  buildLayout,
  localTimeFormatter,
  type Layout,
  type LayoutSnapshot,
  type TimeFormatter,
} from "./layout.ts";
export { repositorySource } from "./repository-source.ts";
export type { VKind, VNode, VSource } from "./vnode.ts";
