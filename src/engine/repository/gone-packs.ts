import type { Storage } from "../../storage/storage.ts";
import { gatewayPackLists } from "./index-store.ts";

/**
 * Packs a coffer gateway destroyed on purpose (garbage collection): the `gone` list of
 * `gateway/unavailable-packs.json`. Empty for plain S3 and local repositories.
 */
export async function gonePacks(storage: Storage): Promise<Set<string>> {
  return new Set((await gatewayPackLists(storage)).gone);
}
