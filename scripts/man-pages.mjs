// Man pages made from the CLIs' own help: `coffer --help`, `coffer COMMAND --help` for every
// command that lists, and `coffer-server --help`. The help text is kept verbatim (no-fill
// blocks), so the pages say exactly what the commands say.
import { spawnSync } from "node:child_process";

/** Runs a CLI entry script with `args` and returns its standard output. */
function help(script, args) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(
      `man-pages: ${script} ${args.join(" ")} exited ${String(r.status)}: ${r.stderr.trim()}`,
    );
  return r.stdout.replace(/\s+$/, "");
}

/** Text as roff that shows it verbatim. */
export function roffVerbatim(text) {
  const body = text
    .split("\n")
    .map((l) => l.replace(/\\/g, "\\e").replace(/^([.'])/, "\\&$1"))
    .join("\n");
  return `.nf\n${body}\n.fi`;
}

function header(name, version, date, title) {
  return `.TH ${name.toUpperCase()} 1 "${date}" "${name} ${version}" "User Commands"\n.SH NAME\n${name} \\- ${title}`;
}

/** The commands `coffer --help` lists, in its order. */
export function listedCommands(usage) {
  const lines = usage.split("\n");
  const start = lines.indexOf("Commands:");
  const names = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^ {2}([a-z][\w-]*) {2,}\S/.exec(l);
    if (!m) break;
    names.push(m[1]);
  }
  return names;
}

/** coffer(1), from the client CLI at `script`. */
export function cofferPage(script, version, date) {
  const usage = help(script, ["--help"]);
  const commands = listedCommands(usage);
  if (commands.length === 0) throw new Error("man-pages: coffer --help lists no commands");
  const out = [
    header("coffer", version, date, "encrypted, deduplicated backups"),
    ".SH SYNOPSIS",
    ".B coffer",
    "\\fICOMMAND\\fR [\\fIoptions\\fR]",
    ".SH DESCRIPTION",
    roffVerbatim(usage),
    ".SH COMMANDS",
  ];
  for (const c of commands)
    out.push(`.SS "coffer ${c}"`, roffVerbatim(help(script, [c, "--help"])));
  out.push(
    ".SH FILES",
    ".TP",
    ".I /etc/coffer/agent.yaml",
    "the agent's configuration (example: /etc/coffer/agent.yaml.example)",
    ".TP",
    ".I /etc/coffer/agent.env",
    "secrets in the environment of coffer-agent.service (mode 0600)",
    ".TP",
    ".I /var/lib/coffer/agent",
    "the agent's state when it runs as root",
    ".SH SEE ALSO",
    "coffer-server(1)",
    "",
  );
  return out.join("\n");
}

/** coffer-server(1), from the server CLI at `script`. */
export function serverPage(script, version, date) {
  return [
    header("coffer-server", version, date, "S3-compatible gateway that keeps backups immutable"),
    ".SH SYNOPSIS",
    ".B coffer-server",
    "\\fICOMMAND\\fR [\\fIoptions\\fR]",
    ".SH DESCRIPTION",
    roffVerbatim(help(script, ["--help"])),
    ".SH FILES",
    ".TP",
    ".I /etc/coffer-server/server.yaml",
    "the configuration coffer-server.service runs with (and the default of every command: COFFER_SERVER_CONFIG)",
    ".TP",
    ".I /var/lib/coffer-server",
    "the data directory: master.key, metadata.sqlite, objects",
    ".SH SEE ALSO",
    "coffer(1)",
    "",
  ].join("\n");
}
