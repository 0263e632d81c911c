import { useSyncExternalStore } from 'react';
import type { RunController, RunSnapshot } from '../state/runController.js';

export function useRunSnapshot(controller: RunController): RunSnapshot {
  return useSyncExternalStore(controller.subscribe, controller.getSnapshot, controller.getSnapshot);
}
