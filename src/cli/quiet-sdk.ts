/**
 * The AWS SDK v3 prints a multi-line `NodeVersionSupportWarning` on stderr under Node < 22
 * the first time an S3 client is built. Coffer supports Node 20 (its lockfile pins the SDK),
 * and the warning would break the one-line error contract of every S3 command, so the
 * binaries turn it off unless the user set the SDK's own switch.
 */
export function quietSdkWarnings(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}
