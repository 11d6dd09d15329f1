import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts a worker for a `.ts` script under tsx (Node 20 workers do not inherit the `--import
 * tsx` loader): registers tsx's ESM hooks inside the worker, then imports the script.
 * For `.js` (built) scripts it is a plain Worker.
 */
export function tsWorker(script: URL, options: WorkerOptions = {}): Worker {
  if (!script.pathname.endsWith(".ts")) return new Worker(script, options);
  const api = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
