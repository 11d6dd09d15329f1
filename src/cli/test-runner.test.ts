import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "node:test";

const root = fileURLToPath(new URL("../..", import.meta.url));

test("scripts/test.mjs runs test files without the AWS SDK's Node-version notice (slow: a nested test run)", () => {
  const dir = mkdtempSync(join(tmpdir(), "coffer-test-runner-"));
  try {
    const sdk = createRequire(join(root, "package.json")).resolve("@aws-sdk/client-s3");
    const probe = join(dir, "probe.test.ts");
    writeFileSync(
      probe,
      [
        'import { test } from "node:test";',
        `import { S3Client } from ${JSON.stringify(pathToFileURL(sdk).href)};`,
        'test("builds an S3 client", () => { new S3Client({ region: "us-east-1" }); });',
      ].join("\n"),
    );
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    delete env.NODE_TEST_CONTEXT; // a run of its own, not a subtest of this one
    const r = spawnSync(process.execPath, [join(root, "scripts/test.mjs"), probe], {
      cwd: root,
      env,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /# pass 1/);
    assert.doesNotMatch(r.stdout + r.stderr, /NodeVersionSupport|no longer support/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
