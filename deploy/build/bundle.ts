// Bundles each service into dist/<service>/main.mjs: what the image, `npm start`, the benches,
// the chaos suite and the integration tests run (ADR 0031).
//   npm run build                 all seven services
//   npm run build -- ingest-api   some of them
// One file per service instead of ~1,100 modules: ~0.3 s less from spawn to ready, ~14 MB less
// heap. Code a service imports dynamically (vendor SDKs in live mode, the tracing SDK) stays in
// chunks beside it, loaded only when used, as it was before bundling.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const SERVICE_NAMES = ['ingest-api', 'admin-api', 'outbox-relay', 'dispatcher-push', 'dispatcher-email', 'dispatcher-sms', 'dispatcher-kakao'] as const;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where a service's bundle is: `node <this>` runs the service. */
export const serviceEntry = (service: string): string => path.join(repoRoot, 'dist', service, 'main.mjs');

// Packages that find their own files at run time (pino's transport worker, swagger-ui's assets)
// load from node_modules as before; everything else is inlined.
const EXTERNAL = ['pino', 'pino-pretty', 'thread-stream', 'swagger-ui-dist'];

// CommonJS dependencies inlined into an ES module still call require() for Node's built-ins.
const BANNER = "import { createRequire as __hubCreateRequire } from 'node:module';\nconst require = __hubCreateRequire(import.meta.url);";

export async function bundleServices(services: readonly string[] = SERVICE_NAMES): Promise<void> {
  await Promise.all(
    services.map(async (service) => {
      if (!(SERVICE_NAMES as readonly string[]).includes(service)) throw new Error(`unknown service ${service}; one of ${SERVICE_NAMES.join(', ')}`);
      await bundleEntry(path.join(repoRoot, 'services', service, 'src', 'main.ts'), service);
    }),
  );
}

/**
 * Bundles one entry point the way the services are bundled, into dist/<name>/main.mjs (also
 * what a bench compares a service with: bench/cost/rss-floor.ts). Returns that file's path.
 */
export async function bundleEntry(entry: string, name: string): Promise<string> {
  const outdir = path.join(repoRoot, 'dist', name);
  await rm(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { main: entry },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    external: EXTERNAL,
    banner: { js: BANNER },
    // Not minified: a stack trace names the function and the bundle keeps each module's path.
    // (So no keepNames either: it would only wrap every function and class created at run
    // time in a defineProperty call, ~1 % of a dispatcher's CPU under load.)
    legalComments: 'none',
    logLevel: 'warning',
  });
  return path.join(outdir, 'main.mjs');
}

if (import.meta.main) {
  const started = performance.now();
  const services = process.argv.slice(2);
  await bundleServices(services.length > 0 ? services : SERVICE_NAMES);
  console.log(`[build] ${services.length > 0 ? services.join(', ') : 'seven services'} bundled into dist/ in ${(performance.now() - started).toFixed(0)} ms`);
}
