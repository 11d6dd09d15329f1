import { createHmac } from "node:crypto";
import nodemailer from "nodemailer";
import type { AlertsConfig, SmtpConfig, WebhookConfig } from "./alerts-config.ts";
import type { OutMessage } from "./alert-store.ts";

/** A delivery channel: sends one message or throws with a one-line reason. */
export interface Channel {
  /** `smtp` or `webhook:<n>`. */
  name: string;
  send(m: OutMessage): Promise<void>;
}

/** E-mail through nodemailer (STARTTLS or implicit TLS, optional auth). */
export function smtpChannel(c: SmtpConfig): Channel {
  const transport = nodemailer.createTransport({
    host: c.host,
    port: c.port,
    secure: c.secure,
    requireTLS: c.starttls,
    ignoreTLS: !c.secure && !c.starttls,
    tls: { rejectUnauthorized: c.rejectUnauthorized, ...(c.ca !== undefined ? { ca: c.ca } : {}) },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    ...(c.user !== undefined ? { auth: { user: c.user, pass: c.pass ?? "" } } : {}),
  });
  return {
    name: "smtp",
    async send(m) {
      const to = m.to.length > 0 ? m.to : c.to;
      await transport.sendMail({
        from: m.from ?? c.from,
        to: to.join(", "),
        subject: m.subject,
        text: m.text,
      });
    },
  };
}

/** Signature header value: `sha256=<hex HMAC-SHA256(secret, body)>`. */
export function webhookSignature(secret: string, body: string): string {
  return "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
}

/** JSON POST; with a secret, `x-coffer-signature` carries an HMAC-SHA256 of the body. */
export function webhookChannel(w: WebhookConfig, index: number): Channel {
  return {
    name: `webhook:${index}`,
    async send(m) {
      const body = JSON.stringify({ ...m.event, subject: m.subject, text: m.text });
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": "coffer-server",
      };
      if (w.secret !== undefined) headers["x-coffer-signature"] = webhookSignature(w.secret, body);
      const res = await fetch(w.url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(15_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`${w.url} answered HTTP ${res.status}`);
    },
  };
}

/** Every channel the configuration names. */
export function channelsOf(cfg: AlertsConfig): Channel[] {
  const out: Channel[] = [];
  if (cfg.smtp !== undefined) out.push(smtpChannel(cfg.smtp));
  cfg.webhooks.forEach((w, i) => out.push(webhookChannel(w, i)));
  return out;
}
