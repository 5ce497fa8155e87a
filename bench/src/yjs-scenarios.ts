import type { ScenarioInput, ScenarioResult } from './scenarios.js';
import { editorsScenario } from './yjs-editors.js';
import type { YjsSystemName } from './yjs-protocols.js';
import { reconnectScenario, syncScenario } from './yjs-sync.js';

/** The Yjs scenarios, run against Roomkit's storage, Hocuspocus and y-websocket-server. */
export const YJS_SCENARIOS = [
  'yjs-editors-10',
  'yjs-editors-100',
  'yjs-sync',
  'yjs-reconnect',
] as const;
export type YjsScenarioName = (typeof YJS_SCENARIOS)[number];

export const YJS_RUNNERS: Record<
  YjsScenarioName,
  (input: ScenarioInput<YjsSystemName>) => Promise<ScenarioResult>
> = {
  'yjs-editors-10': (input) => editorsScenario(input, 10),
  'yjs-editors-100': (input) => editorsScenario(input, 100),
  'yjs-sync': syncScenario,
  'yjs-reconnect': reconnectScenario,
};
