// Where the end-to-end suite leaves what scripts/e2e.sh prints after tap's summary.
import os from 'node:os';
import path from 'node:path';

export const LATENCY_REPORT = process.env.CILIUM_GUARD_E2E_REPORT ?? path.join(os.tmpdir(), 'cilium-guard-e2e-latency.txt');
