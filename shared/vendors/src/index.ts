export { VendorError, asVendorError, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';
export { MockVendor, addressOutcome, type FailureMix, type MockVendorOptions } from './mock.ts';
export { FcmSender, type FcmOptions } from './fcm.ts';
export { SesSender, type SesOptions } from './ses.ts';
export { SmtpSender, type SmtpOptions } from './smtp.ts';
export { TwilioSender, type TwilioOptions } from './twilio.ts';
export { KakaoAlimtalkSender, type KakaoOptions } from './kakao.ts';
export { createVendorSender, requiredVendorVariables, vendorEnv, type VendorConfig } from './config.ts';
