import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pseudoRandomBytes } from "../../fsmeta/testing/make-tree.ts";
import { startGatewayProcess } from "../../server/integration/testing/gateway-process.ts";
import { runCoffer, spawnCoffer } from "../testing/run-coffer.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/**
 * A TCP relay on 127.0.0.1 in front of the gateway that can go away mid-transfer: after
 * `cutAfter` bytes from clients it stops listening and resets every open connection, so the
 * client sees resets, then "connection refused", as when the gateway host goes down.
 */
class Relay {
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  port = 0;
  uploaded = 0;
  cutAfter = Infinity;
  constructor(private readonly target: number) {}

  async listen(port = 0): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on("close", () => this.#sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.on("data", (b: Buffer) => {
        this.uploaded += b.length;
        if (this.uploaded > this.cutAfter) this.down();
        else upstream.write(b);
      });
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.port = (server.address() as { port: number }).port;
  }

  /** Stops listening and resets every connection. */
  down(): void {
    this.#server?.close();
    this.#server = undefined;
    for (const s of this.#sockets) s.resetAndDestroy();
  }
}

test("backup through an unreachable gateway (refused mid-upload) fails with one line, commits nothing, and the next backup succeeds (slow: real processes)", async (t) => {
  const gw = await startGatewayProcess({ fromSource: true });
  cleanups.push(() => gw.stop());
  const relay = new Relay(gw.port);
  await relay.listen();
  cleanups.push(() => {
    relay.down();
    return Promise.resolve();
  });
  const dir = await mkdtemp(join(tmpdir(), "coffer-unreachable-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const src = join(dir, "src");
  await mkdir(src);
  // 24 MiB of incompressible data: more than one 16 MiB pack, so the cut falls mid-upload.
  for (let i = 0; i < 3; i++)
    await writeFile(join(src, `f${String(i)}`), pseudoRandomBytes(8 << 20, 40 + i));
  const a = await gw.addSource("web-01");
  const repo = `s3:http://127.0.0.1:${String(relay.port)}/${a.bucket}`;
  const env = {
    COFFER_PASSWORD: "test password",
    AWS_ACCESS_KEY_ID: a.accessKeyId,
    AWS_SECRET_ACCESS_KEY: a.secretAccessKey,
  };
  const coffer = (args: string[]) => runCoffer([...args, "-r", repo], env);
  const init = await coffer(["init"]);
  assert.equal(init.code, 0, init.stderr);

  relay.cutAfter = relay.uploaded + (4 << 20); // 4 MiB into the backup's uploads
  const failed = await spawnCoffer(["backup", src, "-r", repo], env).done;
  assert.ok(relay.uploaded > relay.cutAfter, "the relay went down during the backup");
  assert.equal(failed.code, 1, failed.stderr);
  // Coffer's error is one line, and the AWS SDK's multi-line Node-version warning is silenced.
  assert.doesNotMatch(failed.stderr, /NodeVersionSupportWarning|AWS SDK/);
  const errors = failed.stderr.split("\n").filter((l) => l.startsWith("coffer:"));
  assert.equal(errors.length, 1, failed.stderr);
  t.diagnostic(errors[0] ?? "");
  assert.match(
    errors[0] ?? "",
    new RegExp(
      `^coffer: Cannot .*s3:http://127\\.0\\.0\\.1:${String(relay.port)}/web-01: connection (refused|reset by the server)`,
    ),
  );
  const committed = () =>
    gw.query<{ key: string }>(
      "SELECT key FROM objects WHERE bucket = ? AND (key LIKE 'snapshots/%' OR key LIKE 'manifests/%')",
      a.bucket,
    );
  assert.deepEqual(committed(), [], "no snapshot or manifest reached the gateway");

  await relay.listen(relay.port);
  relay.cutAfter = Infinity;
  const list = await coffer(["snapshots", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout.toString()), []);
  const ok = await coffer(["backup", src, "--json"]);
  assert.equal(ok.code, 0, ok.stderr);
  const summary = JSON.parse(ok.stdout.toString().trim().split("\n").pop() ?? "{}") as {
    snapshot_id: string;
  };
  assert.deepEqual(
    committed()
      .map((r) => r.key.split("/")[0])
      .sort(),
    ["manifests", "snapshots"],
  );
  const check = await coffer(["check", "--read-data"]);
  assert.equal(check.code, 0, check.stderr + check.stdout.toString());
  const after = await coffer(["snapshots", "--json"]);
  assert.deepEqual(
    (JSON.parse(after.stdout.toString()) as { id: string }[]).map((s) => s.id),
    [summary.snapshot_id],
  );
});
