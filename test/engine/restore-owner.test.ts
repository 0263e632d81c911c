import { restoreScenario } from './restore-scenario.js';

restoreScenario('owner');
