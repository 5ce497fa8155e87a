import { ownCpuSeconds } from './measure.js';
import { type AnyScenario, type PeerName, runScenario } from './registry.js';
import type { ScenarioInput } from './scenarios.js';

// The load generator: one scenario against one server, in its own process (pinned to its own
// core by the orchestrator). Prints one JSON line with the result (and the CPU it used in all,
// so the orchestrator can tell how busy the rest of the machine was) and exits.
const [scenario, json] = process.argv.slice(2) as [AnyScenario, string];
const input = JSON.parse(json) as ScenarioInput<PeerName>;

runScenario(scenario, input).then(
  (result) => {
    process.stdout.write(`${JSON.stringify({ ok: true, result, cpuSeconds: ownCpuSeconds() })}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(error) })}\n`);
    process.exit(1);
  },
);
