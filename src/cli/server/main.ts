import { quietSdkWarnings } from "../quiet-sdk.ts";
import { processIo } from "./io.ts";
import { runServerCli } from "./run.ts";

quietSdkWarnings();
process.exitCode = await runServerCli(process.argv.slice(2), processIo);
