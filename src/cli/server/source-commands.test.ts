import assert from "node:assert/strict";
import { test } from "node:test";
import { cofferArgv } from "../testing/run-coffer.ts";
import { run, startGatewayProcess } from "../../server/integration/testing/gateway-process.ts";

/** Runs the lines `source add` prints for the protected server, as an operator would paste them. */
async function paste(
  lines: string[],
  home: string,
): Promise<{ code: number | null; stderr: string }> {
  const env: Record<string, string> = { COFFER_PASSWORD: "pasted password" };
  let init: string[] | undefined;
  for (const l of lines.map((x) => x.trim())) {
    const m = /^export (\w+)=(\S+)$/.exec(l);
    if (m) env[m[1] ?? ""] = m[2] ?? "";
    else if (l.startsWith("coffer init ")) init = l.split(/\s+/).slice(1);
  }
  assert.ok(init !== undefined, `no coffer init line in:\n${lines.join("\n")}`);
  return run(process.execPath, cofferArgv(init), env, { home });
}

test("source add prints a coffer init line that works when pasted: HTTPS with a self-signed certificate, and a non-default region", async () => {
  const gw = await startGatewayProcess({ https: true, fromSource: true });
  try {
    for (const [name, region] of [
      ["paste-01", undefined],
      ["paste-02", "eu-west-3"],
    ] as const) {
      const r = await gw.admin(["source", "add", name, ...(region ? ["--region", region] : [])]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n");
      assert.ok(
        lines.some((l) =>
          /coffer init -r s3:https:\/\/\S+ --tls-fingerprint [0-9A-F:]{95}$/.test(l),
        ),
        r.stdout,
      );
      const init = await paste(lines, gw.dataDir);
      assert.equal(init.code, 0, `${name}: ${init.stderr}`);
      assert.ok(gw.object(name, "config") !== undefined);
    }
  } finally {
    await gw.stop();
  }
});
