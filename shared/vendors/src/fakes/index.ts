// Fake vendor servers for adapter tests and benchmarks only (not exported from the package root).
export { startFakeServer, type FakeReply, type FakeRequest, type FakeServer } from './server.ts';
export { startFakeFcm, type FakeFcm } from './fcm.ts';
export { startFakeSes } from './ses.ts';
export { startFakeTwilio } from './twilio.ts';
export { startFakeKakao } from './kakao.ts';
export { startFakeSns, signSnsEnvelope, sesEvent, type FakeSns, type PublishInput, type SnsEnvelope } from './sns.ts';
export { twilioCallbackSignature, twilioStatusCallbackForm } from './twilio-callback.ts';
