// Fake vendor servers for adapter tests and benchmarks only (not exported from the package root).
export { startFakeServer, type FakeReply, type FakeRequest, type FakeServer } from './server.ts';
export { startFakeFcm } from './fcm.ts';
export { startFakeSes } from './ses.ts';
export { startFakeTwilio } from './twilio.ts';
export { startFakeKakao } from './kakao.ts';
