// vitest globalSetup of the `int` project: the tests that start services as processes
// (spawnService in @hub/testing) run their bundles, as production does, built here from the
// sources of this run (a few seconds for all seven).
import { bundleServices } from './bundle.ts';

export default async function setup(): Promise<void> {
  await bundleServices();
}
