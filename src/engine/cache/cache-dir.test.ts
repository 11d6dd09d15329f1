import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultCacheDir } from "./cache-dir.ts";

test("defaultCacheDir() follows COFFER_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache", () => {
  assert.equal(defaultCacheDir({ COFFER_CACHE_DIR: "/c", XDG_CACHE_HOME: "/x", HOME: "/h" }), "/c");
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: "/x", HOME: "/h" }), "/x/coffer");
  assert.equal(defaultCacheDir({ HOME: "/h" }), "/h/.cache/coffer");
});
