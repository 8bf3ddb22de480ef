// Once per test run: build the web client when web/dist is missing or older than its sources, so the e2e and the
// budget test run from a fresh clone with `npm test` alone.
import { buildWeb } from '../../scripts/build-web.js';

export default async function setup() {
  if (await buildWeb({ ifStale: true, quiet: true })) console.log('[tests] web client built into web/dist');
}
