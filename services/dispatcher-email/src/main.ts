import { runDispatcher } from '@hub/dispatching';

await runDispatcher('EMAIL', process);
