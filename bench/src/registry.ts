import { BIG_ROOM_SYSTEMS } from './big-room.js';
import { RUNNERS, SCENARIOS, type ScenarioInput, type ScenarioResult } from './scenarios.js';
import { SYSTEMS, type SystemName } from './systems.js';
import { YJS_SYSTEMS, type YjsSystemName } from './yjs-protocols.js';
import { YJS_RUNNERS, YJS_SCENARIOS } from './yjs-scenarios.js';

/** Every scenario, and which servers each one runs against (each server is a `peers/<name>.js`). */
export const ALL_SCENARIOS = [...SCENARIOS, ...YJS_SCENARIOS] as const;
export type AnyScenario = (typeof ALL_SCENARIOS)[number];
export type PeerName = SystemName | YjsSystemName;
/** Every server the harness can start (`peers/<name>.js`). */
export const ALL_PEERS: readonly PeerName[] = [...new Set<PeerName>([...SYSTEMS, ...YJS_SYSTEMS])];

function isYjs(scenario: AnyScenario): scenario is (typeof YJS_SCENARIOS)[number] {
  return (YJS_SCENARIOS as readonly string[]).includes(scenario);
}

export function systemsFor(scenario: AnyScenario): readonly PeerName[] {
  if (isYjs(scenario)) return YJS_SYSTEMS;
  return scenario.startsWith('bigroom') ? BIG_ROOM_SYSTEMS : SYSTEMS;
}

/** Runs a scenario; `input.system` is one of `systemsFor(scenario)`. */
export function runScenario(
  scenario: AnyScenario,
  input: ScenarioInput<PeerName>,
): Promise<ScenarioResult> {
  return isYjs(scenario)
    ? YJS_RUNNERS[scenario](input as ScenarioInput<YjsSystemName>)
    : RUNNERS[scenario](input as ScenarioInput<SystemName>);
}
