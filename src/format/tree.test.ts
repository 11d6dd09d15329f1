import assert from "node:assert/strict";
import { test } from "node:test";
import { isCofferError } from "../core/errors.ts";
import { decodeTree, encodeTree, type TreeNode } from "./tree.ts";

const ID = "d".repeat(64);

function node(name: Buffer | string, over: Partial<TreeNode> = {}): TreeNode {
  return {
    name: typeof name === "string" ? Buffer.from(name) : name,
    type: "file",
    mode: 0o100644,
    uid: 1000,
    gid: 1000,
    user: "alice",
    group: "staff",
    mtimeNs: 1700000000123456789n,
    atimeNs: 1700000001000000000n,
    ctimeNs: -5n,
    size: 12,
    inode: 18446744073709551615n,
    devId: 2049n,
    links: 1,
    content: [ID],
    ...over,
  };
}

test("encodeTree() sorts by name bytes and decodeTree() restores every field", () => {
  const latin1 = Buffer.from([0x66, 0xe9, 0x65]); // "fée" in Latin-1: not UTF-8
  const nodes = [
    node("zeta"),
    node(latin1),
    node("dir", { type: "dir", mode: 0o40755, content: undefined as never, subtree: ID }),
    node("link", {
      type: "symlink",
      content: undefined as never,
      linkTarget: Buffer.from([0x2e, 0x2e, 0xff]),
    }),
    node("dev", {
      type: "chardev",
      content: undefined as never,
      rdev: 259,
      xattrs: [
        { name: "user.b", value: Buffer.from([0]) },
        { name: "user.a", value: Buffer.from("x") },
      ],
    }),
    node("é"),
  ].map(
    (n) =>
      Object.fromEntries(
        Object.entries(n).filter(([, v]) => v !== undefined),
      ) as unknown as TreeNode,
  );
  const bytes = encodeTree(nodes);
  const json = JSON.parse(bytes.toString()) as { nodes: Record<string, unknown>[] };
  assert.deepEqual(
    json.nodes.map((n) => n["name"] ?? `b64:${String(n["nameB64"])}`),
    ["dev", "dir", `b64:${latin1.toString("base64")}`, "link", "zeta", "é"],
  );
  assert.equal(json.nodes[0]!["mtimeNs"], "1700000000123456789");
  assert.deepEqual(json.nodes[0]!["xattrs"], { "user.a": "eA==", "user.b": "AA==" });
  assert.equal(json.nodes[3]!["linkTargetB64"], "Li7/");
  const back = decodeTree(bytes);
  const sorted = nodes.slice().sort((a, b) => Buffer.compare(a.name, b.name));
  sorted[0]!.xattrs!.reverse();
  assert.deepEqual(back, sorted);
  assert.deepEqual(encodeTree(back), bytes, "encoding is canonical");
});

test("encodeTree() refuses duplicate and unsafe names", () => {
  assert.throws(
    () => encodeTree([node("a"), node("a")]),
    (e) => isCofferError(e, "BAD_INPUT"),
  );
  for (const bad of ["", ".", "..", "a/b", "a\0b"])
    assert.throws(
      () => encodeTree([node(bad)]),
      (e) => isCofferError(e, "BAD_INPUT"),
      bad,
    );
});

test("decodeTree() rejects malformed trees as CORRUPT", () => {
  const good = JSON.parse(encodeTree([node("a"), node("b")]).toString()) as {
    nodes: Record<string, unknown>[];
  };
  const bad = (mutate: (t: { nodes: Record<string, unknown>[] }) => void, re: RegExp) => {
    const t = structuredClone(good);
    mutate(t);
    assert.throws(
      () => decodeTree(Buffer.from(JSON.stringify(t)), "f".repeat(64)),
      (e) =>
        isCofferError(e, "CORRUPT") &&
        e.message.startsWith("Cannot read tree ffffffff") &&
        re.test(e.message),
    );
  };
  bad((t) => t.nodes.reverse(), /sorted/);
  bad((t) => (t.nodes[0]!["name"] = ".."), /name/);
  bad((t) => (t.nodes[0]!["name"] = "x/../../etc"), /name/);
  bad((t) => (t.nodes[0]!["type"] = "socket"), /type/);
  bad((t) => (t.nodes[0]!["mtimeNs"] = 5), /mtimeNs/);
  bad((t) => (t.nodes[0]!["content"] = ["xyz"]), /content/);
  bad((t) => delete t.nodes[0]!["content"], /content/);
  bad((t) => (t.nodes[0]!["nameB64"] = "YQ=="), /both/);
  assert.throws(
    () => decodeTree(Buffer.from("{")),
    (e) => isCofferError(e, "CORRUPT"),
  );
});
