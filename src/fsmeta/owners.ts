import { readFile } from "node:fs/promises";

/** Maps between numeric ids and names from `/etc/passwd` and `/etc/group` (NSS not consulted). */
export class Owners {
  private constructor(
    private readonly users: IdTable,
    private readonly groups: IdTable,
  ) {}

  /**
   * Reads and caches both databases once. Missing or unreadable files give empty tables
   * (names are then simply absent; numeric ids still work).
   */
  static async load(o: { passwdPath?: string; groupPath?: string } = {}): Promise<Owners> {
    const [p, g] = await Promise.all([
      readFile(o.passwdPath ?? "/etc/passwd", "utf8").catch(() => ""),
      readFile(o.groupPath ?? "/etc/group", "utf8").catch(() => ""),
    ]);
    return new Owners(parseIdFile(p), parseIdFile(g));
  }

  /** The process-wide instance reading the real system files (loaded on first use). */
  static system(): Promise<Owners> {
    systemOwners ??= Owners.load();
    return systemOwners;
  }

  /** User name of `uid`, or `undefined` when it has none. */
  userName(uid: number): string | undefined {
    return this.users.byId.get(uid);
  }

  /** Group name of `gid`, or `undefined` when it has none. */
  groupName(gid: number): string | undefined {
    return this.groups.byId.get(gid);
  }

  /** uid of user `name`, or `undefined` when there is no such user here. */
  uidOf(name: string): number | undefined {
    return this.users.byName.get(name);
  }

  /** gid of group `name`, or `undefined` when there is no such group here. */
  gidOf(name: string): number | undefined {
    return this.groups.byName.get(name);
  }

  /**
   * The uid/gid to restore: by default the recorded numeric ids (restic's behaviour, right
   * when restoring onto the same host). With `byName`, a recorded name that exists on this
   * host wins over the number (for restores onto another host); unknown names keep the number.
   */
  restoreIds(
    rec: { uid: number; gid: number; user?: string | undefined; group?: string | undefined },
    byName = false,
  ): { uid: number; gid: number } {
    if (!byName) return { uid: rec.uid, gid: rec.gid };
    const uid = rec.user === undefined ? undefined : this.uidOf(rec.user);
    const gid = rec.group === undefined ? undefined : this.gidOf(rec.group);
    return { uid: uid ?? rec.uid, gid: gid ?? rec.gid };
  }
}

let systemOwners: Promise<Owners> | undefined;

interface IdTable {
  byId: Map<number, string>;
  byName: Map<string, number>;
}

/**
 * Parses `name:x:id:...` lines (passwd and group share the first three fields). Comments,
 * blank and malformed lines are skipped; the first entry for an id or name wins, like getpwuid.
 */
export function parseIdFile(text: string): IdTable {
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.length === 0 || line.startsWith("#")) continue;
    const [name, , idText] = line.split(":");
    if (name === undefined || name === "" || idText === undefined || !/^\d+$/.test(idText))
      continue;
    const id = Number(idText);
    if (!byId.has(id)) byId.set(id, name);
    if (!byName.has(name)) byName.set(name, id);
  }
  return { byId, byName };
}
