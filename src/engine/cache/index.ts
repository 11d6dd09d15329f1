/** What the cache sub-domain offers the rest of Coffer. */
export { defaultCacheDir } from "./cache-dir.ts";
export {
  DEFAULT_CACHE_MAX_AGE_DAYS,
  listCaches,
  removeOldCaches,
  type CacheInfo,
} from "./cache-list.ts";
export { type ObjectCache } from "./object-cache.ts";
export { type TreePackCache } from "./pack-cache.ts";
export { RepoCache } from "./repo-cache.ts";
