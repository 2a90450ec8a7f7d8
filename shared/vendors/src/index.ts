export { VendorError, asVendorError, type AlimtalkButton, type DevicePlatform, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';
export { MockVendor, addressOutcome, type FailureMix, type MockVendorOptions } from './mock.ts';
export { FcmSender, fcmMessage, type FcmCredentials, type FcmOptions } from './fcm.ts';
export { SesSender, type SesOptions } from './ses.ts';
export { SmtpSender, type SmtpOptions } from './smtp.ts';
export { TwilioSender, type TwilioOptions } from './twilio.ts';
export { KakaoAlimtalkSender, sensRecipient, type KakaoOptions } from './kakao.ts';
export { createVendorSender, requiredVendorVariables, vendorEnv, type VendorConfig } from './config.ts';
export { SES_SNS_PATH, TWILIO_STATUS_CALLBACK_PATH, sesSnsEndpointUrl, twilioStatusCallbackUrl } from './receipt-urls.ts';
