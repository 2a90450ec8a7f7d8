import { runDispatcher } from '@hub/dispatching';

await runDispatcher('SMS', process);
