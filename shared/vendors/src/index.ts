export { VendorError, asVendorError, type AlimtalkButton, type DevicePlatform, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';
export { MockVendor, addressOutcome, type FailureMix, type MockVendorOptions } from './mock.ts';
// The adapters themselves are loaded on demand by createVendorSender (and imported by path,
// `@hub/vendors/smtp` etc., where a test needs one): importing this index loads no vendor SDK.
export type { FcmCredentials, FcmOptions } from './fcm.ts';
export type { SesOptions } from './ses.ts';
export type { SmtpOptions } from './smtp.ts';
export type { TwilioOptions } from './twilio.ts';
export type { KakaoOptions } from './kakao.ts';
export { createVendorSender, requiredVendorVariables, vendorEnv, type VendorConfig } from './config.ts';
export { SES_SNS_PATH, TWILIO_STATUS_CALLBACK_PATH, sesSnsEndpointUrl, twilioStatusCallbackUrl } from './receipt-urls.ts';
