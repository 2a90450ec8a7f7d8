import { runDispatcher } from '@hub/dispatching';

await runDispatcher('PUSH', process);
