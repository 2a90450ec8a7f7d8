import { runDispatcher } from '@hub/dispatching';

await runDispatcher('KAKAO_ALIMTALK', process);
