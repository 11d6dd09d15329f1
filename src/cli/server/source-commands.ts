import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { CofferError } from "../../core/errors.ts";
import { systemClock } from "../../core/system.ts";
import type { ServerConfig } from "../../server/config.ts";
import type { ServerInfo } from "../../server/server.ts";
import type { Source, SourceWithSecret } from "../../server/sources.ts";
import { certFingerprint } from "../../server/tls.ts";
import type { CliIo } from "./io.ts";
import { withAdminData } from "./with-metadata.ts";
import { auditAction } from "../../server/audit/admin.ts";

/** Where clients reach the gateway, and its certificate fingerprint. */
export function endpointInfo(cfg: ServerConfig): { endpoint: string; tlsFingerprint?: string } {
  const infoPath = join(cfg.dataDir, "server.json");
  let info: Partial<ServerInfo> = {};
  if (existsSync(infoPath)) {
    try {
      info = JSON.parse(readFileSync(infoPath, "utf8")) as ServerInfo;
    } catch {
      info = {};
    }
  }
  let endpoint = cfg.publicUrl ?? info.endpoint;
  if (endpoint === undefined) {
    const host = cfg.host === "0.0.0.0" || cfg.host === "::" ? hostname() : cfg.host;
    endpoint = `${cfg.http ? "http" : "https"}://${host}:${cfg.port}`;
  }
  let fp = info.tlsFingerprint;
  const certPath = cfg.tls.cert ?? join(cfg.dataDir, "tls", "cert.pem");
  if (fp === undefined && !endpoint.startsWith("http:") && existsSync(certPath)) {
    try {
      fp = certFingerprint(readFileSync(certPath));
    } catch {
      fp = undefined;
    }
  }
  return fp === undefined ? { endpoint } : { endpoint, tlsFingerprint: fp };
}

const withMetadata = withAdminData;

function publicView(s: Source): Record<string, unknown> {
  return {
    name: s.name,
    bucket: s.bucket,
    accessKeyId: s.accessKeyId,
    region: s.region,
    disabled: s.disabled,
    scratchPrefixes: s.scratchPrefixes,
    deletionDelayDays: s.deletionDelayMs / 86_400_000,
    legalHold: s.legalHold,
    createdAt: new Date(s.createdAt).toISOString(),
    credentialsRotatedAt:
      s.credentialsRotatedAt === null ? null : new Date(s.credentialsRotatedAt).toISOString(),
  };
}

function printCredentials(
  io: CliIo,
  cfg: ServerConfig,
  s: SourceWithSecret,
  json: boolean,
  title: string,
): void {
  const { endpoint, tlsFingerprint } = endpointInfo(cfg);
  const repo = `s3:${endpoint}/${s.bucket}`;
  if (json) {
    io.out(
      JSON.stringify({
        ...publicView(s),
        secretAccessKey: s.secretAccessKey,
        endpoint,
        tlsFingerprint: tlsFingerprint ?? null,
        repository: repo,
      }),
    );
    return;
  }
  const lines = [
    title,
    `  endpoint:          ${endpoint}`,
    `  bucket:            ${s.bucket}`,
    `  region:            ${s.region}`,
    `  access key id:     ${s.accessKeyId}`,
    `  secret access key: ${s.secretAccessKey}`,
  ];
  if (tlsFingerprint !== undefined) lines.push(`  TLS fingerprint:   ${tlsFingerprint} (SHA-256)`);
  lines.push(
    "",
    "On the protected server:",
    `  export AWS_ACCESS_KEY_ID=${s.accessKeyId}`,
    `  export AWS_SECRET_ACCESS_KEY=${s.secretAccessKey}`,
    ...(s.region !== "us-east-1" ? [`  export AWS_DEFAULT_REGION=${s.region}`] : []),
    `  coffer init -r ${repo}${tlsFingerprint !== undefined ? ` --tls-fingerprint ${tlsFingerprint}` : ""}`,
    "",
    "The secret is shown only now; rotate it with `coffer-server source rotate-credentials`.",
  );
  io.out(lines.join("\n"));
}

/** `coffer-server source add|list|show|rotate-credentials|disable|enable`. */
export async function sourceCommand(
  io: CliIo,
  cfg: ServerConfig,
  sub: string | undefined,
  args: string[],
  o: { json: boolean; region?: string },
): Promise<void> {
  const name = args[0];
  const needName = (): string => {
    if (name === undefined)
      throw new CofferError("BAD_INPUT", `Usage: coffer-server source ${sub ?? ""} NAME`);
    return name;
  };
  await withMetadata(cfg, async (m) => {
    const now = systemClock.now();
    // Admin actions are audited; the entry is written before the output, and a failure fails the command.
    const audit = async (action: string, s: Source): Promise<void> => {
      if (cfg.audit.enabled)
        await auditAction(m.db, {
          time: now,
          action,
          source: s.name,
          detail: { accessKeyId: s.accessKeyId },
        });
    };
    switch (sub) {
      case "add": {
        const s = await m.sources.add(
          {
            name: needName(),
            region: o.region ?? cfg.region,
            scratchPrefixes: cfg.scratchPrefixes,
            deletionDelayMs: cfg.minDeletionDelayMs,
          },
          now,
        );
        await audit("source.add", s);
        printCredentials(io, cfg, s, o.json, `Source ${s.name} created.`);
        return;
      }
      case "list": {
        const list = await m.sources.list();
        if (o.json) {
          io.out(JSON.stringify(list.map(publicView)));
          return;
        }
        if (list.length === 0) io.out("No sources. Create one with: coffer-server source add NAME");
        for (const s of list) {
          const c = await m.objects.count(s.bucket);
          io.out(
            `${s.name.padEnd(24)} ${s.disabled ? "disabled" : "enabled "} ${s.accessKeyId}  ${c.objects} objects, ${c.bytes} bytes`,
          );
        }
        return;
      }
      case "show": {
        const s = await m.sources.require(needName());
        const c = await m.objects.count(s.bucket);
        const pending = (await m.deletions.list({ bucket: s.bucket, state: "PENDING" })).length;
        const view = {
          ...publicView(s),
          objects: c.objects,
          bytes: c.bytes,
          pendingDeletions: pending,
          ...endpointInfo(cfg),
        };
        if (o.json) io.out(JSON.stringify(view));
        else
          io.out(
            Object.entries(view)
              .map(([k, v]) => `${k.padEnd(22)} ${Array.isArray(v) ? v.join(", ") : String(v)}`)
              .join("\n"),
          );
        return;
      }
      case "rotate-credentials": {
        const s = await m.sources.rotate(needName(), now);
        await audit("source.rotate-credentials", s);
        printCredentials(
          io,
          cfg,
          s,
          o.json,
          `New credentials for ${s.name} (the old key no longer works).`,
        );
        return;
      }
      case "disable":
      case "enable": {
        const s = await m.sources.setDisabled(needName(), sub === "disable");
        await audit(`source.${sub}`, s);
        if (o.json) io.out(JSON.stringify(publicView(s)));
        else
          io.out(
            `Source ${s.name} ${s.disabled ? "disabled: its credentials are refused, its data is kept" : "enabled"}.`,
          );
        return;
      }
      default:
        throw new CofferError(
          "BAD_INPUT",
          `Unknown source subcommand ${JSON.stringify(sub ?? "")}: use add, list, show, rotate-credentials, disable or enable`,
        );
    }
  });
}
