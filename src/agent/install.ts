/** What the service files need to know. */
export interface InstallSpec {
  /** The node executable. */
  node: string;
  /** The `coffer` entry script. */
  coffer: string;
  config: string;
  stateDir: string;
}

/** Quotes one argument for systemd's ExecStart= (and a POSIX shell): only when needed. */
function q(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, "\\$1")}"`;
}

/** The systemd unit that runs `coffer agent run` (SIGHUP reloads, SIGTERM stops cleanly). */
export function systemdUnit(s: InstallSpec): string {
  return `[Unit]
Description=Coffer backup agent (runs the backup jobs of ${s.config})
Documentation=https://github.com/coffer/coffer/blob/main/docs/cli.md#agent
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=${[s.node, s.coffer, "agent", "run", "--config", s.config].map(q).join(" ")}
ExecReload=/bin/kill -HUP $MAINPID
# Secrets (COFFER_PASSWORD, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY...) go here, mode 0600.
EnvironmentFile=-/etc/coffer/agent.env
KillMode=mixed
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=30
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The crontab fallback for hosts without systemd: every minute, start the agent unless it
 * is already running (flock on a lock file in the state directory), logging to a file.
 */
export function crontabLines(s: InstallSpec): string {
  const cmd = [s.node, s.coffer, "agent", "run", "--config", s.config].map(q).join(" ");
  return `# coffer agent (crontab fallback: starts the agent if it is not running)
* * * * * flock -n ${q(`${s.stateDir}/cron.lock`)} ${cmd} >> ${q(`${s.stateDir}/agent.log`)} 2>&1
`;
}
