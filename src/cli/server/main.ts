import { processIo } from "./io.ts";
import { runServerCli } from "./run.ts";

process.exitCode = await runServerCli(process.argv.slice(2), processIo);
