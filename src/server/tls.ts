import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { CofferError } from "../core/errors.ts";
import type { ServerConfig } from "./config.ts";

/** PEM material and the certificate's SHA-256 fingerprint (`AB:CD:...`). */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  fingerprint: string;
  /** True when this call generated a new self-signed certificate. */
  generated: boolean;
}

/** SHA-256 fingerprint of a PEM certificate, colon-separated upper-case hex. */
export function certFingerprint(pem: Buffer | string): string {
  return new X509Certificate(pem).fingerprint256;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CofferError("CONFIG", `Cannot read TLS ${what} ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Loads the configured certificate, or (with `selfSigned`) loads/creates
 * `<dataDir>/tls/cert.pem` and `key.pem` with `openssl req -x509` (EC P-256, 10 years,
 * SAN = localhost, 127.0.0.1, ::1, the host name and the listen address).
 */
export function loadTls(cfg: ServerConfig): TlsMaterial {
  if (cfg.tls.cert !== undefined && cfg.tls.key !== undefined) {
    const cert = read(cfg.tls.cert, "certificate");
    const key = read(cfg.tls.key, "key");
    try {
      return { cert, key, fingerprint: certFingerprint(cert), generated: false };
    } catch (err) {
      throw new CofferError("CONFIG", `Cannot parse TLS certificate ${cfg.tls.cert}`, {
        cause: err,
      });
    }
  }
  const dir = join(cfg.dataDir, "tls");
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  let generated = false;
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const names = new Set(["localhost", hostname()]);
    const ips = new Set(["127.0.0.1", "::1"]);
    if (/^[\d.]+$/.test(cfg.host) || cfg.host.includes(":")) {
      if (cfg.host !== "0.0.0.0" && cfg.host !== "::") ips.add(cfg.host);
    } else names.add(cfg.host);
    const san = [...[...names].map((n) => `DNS:${n}`), ...[...ips].map((i) => `IP:${i}`)].join(",");
    const tmpCert = `${certPath}.tmp`;
    const tmpKey = `${keyPath}.tmp`;
    try {
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-sha256",
          "-days",
          "3650",
          "-subj",
          `/CN=${hostname()}`,
          "-addext",
          `subjectAltName=${san}`,
          "-keyout",
          tmpKey,
          "-out",
          tmpCert,
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
    } catch (err) {
      throw new CofferError(
        "CONFIG",
        `Cannot generate a self-signed certificate with openssl: ${(err as Error).message.split("\n")[0] ?? ""}`,
        { cause: err },
      );
    }
    renameSync(tmpKey, keyPath);
    renameSync(tmpCert, certPath);
    generated = true;
  }
  const cert = read(certPath, "certificate");
  return { cert, key: read(keyPath, "key"), fingerprint: certFingerprint(cert), generated };
}
