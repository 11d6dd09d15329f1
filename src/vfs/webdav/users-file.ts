import { scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { CofferError } from "../../core/errors.ts";
import type { Random } from "../../core/deps.ts";

/** One user of a users file: a name and an scrypt password hash. */
export interface WebdavUser {
  name: string;
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

const PARAMS = { N: 1 << 15, r: 8, p: 1 };
const KEYLEN = 32;

function scrypt(
  password: string,
  salt: Buffer,
  o: { N: number; r: number; p: number },
): Promise<Buffer> {
  const opts: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 256 * o.N * o.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, KEYLEN, opts, (err, key) => {
      if (err === null) resolve(key);
      else reject(err);
    });
  });
}

/**
 * A users-file line for `name` and `password`:
 * `name:$scrypt$N=32768,r=8,p=1$<salt base64>$<hash base64>`.
 */
export async function hashUserLine(
  name: string,
  password: string,
  random: Random,
): Promise<string> {
  if (!/^[^:\s]+$/.test(name))
    throw new CofferError(
      "BAD_INPUT",
      `Cannot add user ${JSON.stringify(name)}: names have no ':' or spaces`,
    );
  const salt = Buffer.from(random(16));
  const hash = await scrypt(password, salt, PARAMS);
  return `${name}:$scrypt$N=${String(PARAMS.N)},r=${String(PARAMS.r)},p=${String(PARAMS.p)}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/**
 * Parses a users file: one `name:$scrypt$N=…,r=…,p=…$salt$hash` per line; blank lines and
 * `#` comments are skipped.
 * @throws CofferError BAD_INPUT `Cannot read users file F line 3: …`.
 */
export function parseUsersFile(text: string, file: string): Map<string, WebdavUser> {
  const users = new Map<string, WebdavUser>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fail = (why: string): never => {
      throw new CofferError(
        "BAD_INPUT",
        `Cannot read users file ${file} line ${String(i + 1)}: ${why}`,
      );
    };
    const m =
      /^([^:\s]+):\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(
        line,
      );
    if (m === null)
      return fail(
        "expected name:$scrypt$N=…,r=…,p=…$salt$hash (make one with coffer serve webdav --hash-password NAME)",
      );
    const [, name, N, r, p, salt, hash] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const n = Number(N);
    if (n < 1024 || (n & (n - 1)) !== 0 || n > 1 << 20)
      fail("N must be a power of two from 1024 to 2^20");
    if (Number(r) < 1 || Number(r) > 32 || Number(p) < 1 || Number(p) > 16)
      fail("r or p out of range");
    if (users.has(name)) fail(`user ${name} appears twice`);
    users.set(name, {
      name,
      N: n,
      r: Number(r),
      p: Number(p),
      salt: Buffer.from(salt, "base64"),
      hash: Buffer.from(hash, "base64"),
    });
  });
  return users;
}

/** A stand-in hashed for unknown users, so a wrong name costs as much as a wrong password. */
const DUMMY: WebdavUser = {
  name: "",
  ...PARAMS,
  salt: Buffer.alloc(16),
  hash: Buffer.alloc(KEYLEN),
};

/** True when `password` is the password of `name` in `users`. */
export async function verifyUser(
  users: ReadonlyMap<string, WebdavUser>,
  name: string,
  password: string,
): Promise<boolean> {
  const u = users.get(name);
  const ref = u ?? DUMMY;
  const got = await scrypt(password, ref.salt, ref);
  return u !== undefined && got.length === u.hash.length && timingSafeEqual(got, u.hash);
}
