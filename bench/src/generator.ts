import { RUNNERS, type ScenarioInput, type ScenarioName } from './scenarios.js';

// The load generator: one scenario against one server, in its own process (pinned to its own
// core by the orchestrator). Prints one JSON line with the result and exits.
const [scenario, json] = process.argv.slice(2) as [ScenarioName, string];
const input = JSON.parse(json) as ScenarioInput;

RUNNERS[scenario](input).then(
  (result) => {
    process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(error) })}\n`);
    process.exit(1);
  },
);
