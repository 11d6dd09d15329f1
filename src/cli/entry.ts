import { main } from "./main.ts";
import { quietSdkWarnings } from "./quiet-sdk.ts";

quietSdkWarnings();
await main();
