import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, request, type Server } from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { signRequest } from "../../sigv4/sign-request.ts";
import { sha256Hex } from "../../sigv4/signing.ts";
import { webhookSignature } from "./channels.ts";

/** A message as the test SMTP server received it. */
export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** Whether the session was encrypted (STARTTLS or implicit TLS) when the message arrived. */
  secure: boolean;
  /** The authenticated user, if the client logged in. */
  user: string | null;
}

/** Options of {@link startTestSmtp}: TLS (STARTTLS, or implicit with `secure`) and required AUTH. */
export interface TestSmtpOptions {
  tls?: { key: string; cert: string };
  /** Implicit TLS from the first byte (needs `tls`). */
  secure?: boolean;
  /** Require AUTH PLAIN/LOGIN with these credentials (only over TLS). */
  auth?: { user: string; pass: string };
}

/**
 * A self-signed certificate for 127.0.0.1 made by openssl (CN=127.0.0.1, subjectAltName
 * IP:127.0.0.1), written into `dir` as key.pem and cert.pem.
 */
export function selfSignedCert(dir: string): { key: string; cert: string; certPath: string } {
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "pipe" },
  );
  return { key: readFileSync(keyPath, "utf8"), cert: readFileSync(certPath, "utf8"), certPath };
}

function decodeBody(headers: string, body: string): string {
  const cte = /^content-transfer-encoding:\s*(\S+)/im.exec(headers)?.[1]?.toLowerCase();
  if (cte === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (cte === "quoted-printable") {
    const bytes = Buffer.from(
      body
        .replace(/=\r?\n/g, "")
        .replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      "latin1",
    );
    return bytes.toString("utf8");
  }
  return body;
}

/** A real SMTP server (smtp-server) on 127.0.0.1 collecting messages. */
export async function startTestSmtp(o: TestSmtpOptions = {}): Promise<{
  port: number;
  mails: ReceivedMail[];
  authFailures: string[];
  close(): Promise<void>;
}> {
  const mails: ReceivedMail[] = [];
  const authFailures: string[] = [];
  const server = new SMTPServer({
    authOptional: o.auth === undefined,
    disabledCommands: o.tls === undefined ? ["STARTTLS"] : o.secure === true ? ["STARTTLS"] : [],
    ...(o.tls !== undefined ? { key: o.tls.key, cert: o.tls.cert } : {}),
    secure: o.secure === true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (o.auth !== undefined && auth.username === o.auth.user && auth.password === o.auth.pass) {
        callback(null, { user: auth.username });
        return;
      }
      authFailures.push(auth.username ?? "");
      callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const parts: Buffer[] = [];
      stream.on("data", (c: Buffer) => parts.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(parts).toString("utf8");
        const split = raw.indexOf("\r\n\r\n");
        const headers = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
        const body = raw.slice(split + 4).replace(/\r\n$/, "");
        mails.push({
          from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: /^subject:\s*(.*)$/im.exec(headers)?.[1] ?? "",
          text: decodeBody(headers, body).replace(/\r\n/g, "\n").trimEnd() + "\n",
          secure: session.secure,
          user: typeof session.user === "string" ? session.user : null,
        });
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    authFailures,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => {
          r();
        });
      }),
  };
}

/** A webhook POST as received, with whether its HMAC signature verified. */
export interface ReceivedHook {
  body: Record<string, unknown>;
  signatureOk: boolean;
}

/** A real HTTP receiver for webhooks; `failNext` makes the next N requests answer 500. */
export async function startTestWebhook(
  secret: string,
): Promise<{ url: string; hooks: ReceivedHook[]; failNext: number; close(): Promise<void> }> {
  const state = { failNext: 0 };
  const hooks: ReceivedHook[] = [];
  const server: Server = createHttpServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      if (state.failNext > 0) {
        state.failNext--;
        res.writeHead(500).end();
        return;
      }
      const raw = Buffer.concat(parts).toString("utf8");
      hooks.push({
        body: JSON.parse(raw) as Record<string, unknown>,
        signatureOk: req.headers["x-coffer-signature"] === webhookSignature(secret, raw),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hooks,
    get failNext() {
      return state.failNext;
    },
    set failNext(n: number) {
      state.failNext = n;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => {
          r();
        });
      }),
  };
}

/** Sends a SigV4-signed request to a gateway on 127.0.0.1, signed at the test clock's time. */
export function sendSigned(
  port: number,
  clock: { t: number },
  c: { accessKeyId: string; secretAccessKey: string },
  method: string,
  path: string,
  body: Buffer = Buffer.alloc(0),
): Promise<{ status: number; headers: Record<string, unknown> }> {
  const headers: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    "content-length": String(body.length),
  };
  const s = signRequest({ method, path, query: "", headers, payloadHash: sha256Hex(body) }, c, {
    region: "us-east-1",
    time: clock.t,
  });
  return new Promise((resolve, reject) => {
    const r = request(
      { host: "127.0.0.1", port, method, path, headers: s.headers as Record<string, string> },
      (res) => {
        res.resume();
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers });
        });
      },
    );
    r.on("error", reject);
    r.end(body);
  });
}
