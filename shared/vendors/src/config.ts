import { z } from 'zod';
import type { Channel } from '@hub/domain';
import { FcmSender } from './fcm.ts';
import { KakaoAlimtalkSender } from './kakao.ts';
import { MockVendor } from './mock.ts';
import { SesSender } from './ses.ts';
import { SmtpSender } from './smtp.ts';
import { TwilioSender } from './twilio.ts';
import type { VendorSender } from './types.ts';

const rate = z.coerce.number().min(0).max(1).default(0);
const optional = z.string().min(1).optional();

/** Vendor variables (a dispatcher reads those of its own channel; the rest stay unset). */
export const vendorEnv = {
  // mock: in-process vendors with SPEC §4's address-driven outcomes; http: the real APIs below.
  VENDOR_MODE: z.enum(['mock', 'http']).default('mock'),
  // Mock vendor behaviour: latency per call and a random failure mix per error class.
  MOCK_VENDOR_LATENCY_MS: z.coerce.number().int().min(0).default(0),
  MOCK_VENDOR_TRANSIENT_RATE: rate,
  MOCK_VENDOR_PERMANENT_RATE: rate,
  MOCK_VENDOR_INVALID_RECIPIENT_RATE: rate,
  // One vendor call taking longer than this counts as a transient failure.
  VENDOR_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  // PUSH: FCM HTTP v1 with a service account.
  FCM_BASE_URL: z.string().url().default('https://fcm.googleapis.com'),
  FCM_PROJECT_ID: optional,
  FCM_CLIENT_EMAIL: optional,
  // PEM; "\n" escapes are accepted so the key fits in one env line.
  FCM_PRIVATE_KEY: optional,
  // EMAIL: Amazon SES v2 (default) or any SMTP relay.
  EMAIL_PROVIDER: z.enum(['ses', 'smtp']).default('ses'),
  EMAIL_FROM: optional,
  SES_REGION: z.string().default('us-east-1'),
  SES_ENDPOINT: z.string().url().optional(),
  SES_ACCESS_KEY_ID: optional,
  SES_SECRET_ACCESS_KEY: optional,
  SMTP_URL: optional,
  // SMS: Twilio Messaging.
  TWILIO_BASE_URL: z.string().url().default('https://api.twilio.com'),
  TWILIO_ACCOUNT_SID: optional,
  TWILIO_AUTH_TOKEN: optional,
  TWILIO_FROM: optional,
  // KAKAO_ALIMTALK: NAVER Cloud SENS Biz Message.
  KAKAO_BASE_URL: z.string().url().default('https://sens.apigw.ntruss.com'),
  KAKAO_SERVICE_ID: optional,
  KAKAO_ACCESS_KEY: optional,
  KAKAO_SECRET_KEY: optional,
  KAKAO_PLUS_FRIEND_ID: optional,
  KAKAO_TEMPLATE_CODE: optional,
};

const vendorEnvSchema = z.object(vendorEnv);
export type VendorConfig = z.infer<typeof vendorEnvSchema>;

/** Variables the http adapter of `channel` cannot run without. */
export function requiredVendorVariables(channel: Channel, config: VendorConfig): (keyof VendorConfig)[] {
  if (config.VENDOR_MODE === 'mock') return [];
  switch (channel) {
    case 'PUSH':
      return ['FCM_PROJECT_ID', 'FCM_CLIENT_EMAIL', 'FCM_PRIVATE_KEY'];
    case 'EMAIL':
      return config.EMAIL_PROVIDER === 'ses'
        ? ['EMAIL_FROM', 'SES_ACCESS_KEY_ID', 'SES_SECRET_ACCESS_KEY']
        : ['EMAIL_FROM', 'SMTP_URL'];
    case 'SMS':
      return ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'];
    case 'KAKAO_ALIMTALK':
      return ['KAKAO_SERVICE_ID', 'KAKAO_ACCESS_KEY', 'KAKAO_SECRET_KEY', 'KAKAO_PLUS_FRIEND_ID', 'KAKAO_TEMPLATE_CODE'];
  }
}

/** The sender of `channel` for this configuration (validated: required variables are present). */
export function createVendorSender(channel: Channel, config: VendorConfig): VendorSender {
  if (config.VENDOR_MODE === 'mock') {
    return new MockVendor({
      channel,
      latencyMs: config.MOCK_VENDOR_LATENCY_MS,
      failureMix: {
        transient: config.MOCK_VENDOR_TRANSIENT_RATE,
        permanent: config.MOCK_VENDOR_PERMANENT_RATE,
        invalid_recipient: config.MOCK_VENDOR_INVALID_RECIPIENT_RATE,
      },
    });
  }
  const need = (name: keyof VendorConfig): string => {
    const value = config[name];
    if (typeof value !== 'string' || value === '') throw new Error(`${name} is required with VENDOR_MODE=http`);
    return value;
  };
  const timeoutMs = config.VENDOR_TIMEOUT_MS;
  switch (channel) {
    case 'PUSH':
      return new FcmSender({
        baseUrl: config.FCM_BASE_URL,
        projectId: need('FCM_PROJECT_ID'),
        clientEmail: need('FCM_CLIENT_EMAIL'),
        privateKey: need('FCM_PRIVATE_KEY').replace(/\\n/g, '\n'),
        timeoutMs,
      });
    case 'EMAIL':
      return config.EMAIL_PROVIDER === 'smtp'
        ? new SmtpSender({ url: need('SMTP_URL'), from: need('EMAIL_FROM'), timeoutMs })
        : new SesSender({
            region: config.SES_REGION,
            ...(config.SES_ENDPOINT ? { endpoint: config.SES_ENDPOINT } : {}),
            accessKeyId: need('SES_ACCESS_KEY_ID'),
            secretAccessKey: need('SES_SECRET_ACCESS_KEY'),
            from: need('EMAIL_FROM'),
            timeoutMs,
          });
    case 'SMS':
      return new TwilioSender({
        baseUrl: config.TWILIO_BASE_URL,
        accountSid: need('TWILIO_ACCOUNT_SID'),
        authToken: need('TWILIO_AUTH_TOKEN'),
        from: need('TWILIO_FROM'),
        timeoutMs,
      });
    case 'KAKAO_ALIMTALK':
      return new KakaoAlimtalkSender({
        baseUrl: config.KAKAO_BASE_URL,
        serviceId: need('KAKAO_SERVICE_ID'),
        accessKey: need('KAKAO_ACCESS_KEY'),
        secretKey: need('KAKAO_SECRET_KEY'),
        plusFriendId: need('KAKAO_PLUS_FRIEND_ID'),
        templateCode: need('KAKAO_TEMPLATE_CODE'),
        timeoutMs,
      });
  }
}
