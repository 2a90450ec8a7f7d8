import { z } from 'zod';
import type { Channel } from '@hub/domain';
import type { FcmCredentials } from './fcm.ts';
import { MockVendor } from './mock.ts';
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
  // PUSH: FCM HTTP v1 with a service account's OAuth 2.0 access token.
  FCM_BASE_URL: z.string().url().default('https://fcm.googleapis.com'),
  // The Firebase project; may be left out when FCM_SERVICE_ACCOUNT_JSON names it (project_id).
  FCM_PROJECT_ID: optional,
  // A service-account key in one of three forms (the first set wins): the JSON key itself, the
  // path of the JSON key file, or its two fields. None of them = application default credentials
  // (GOOGLE_APPLICATION_CREDENTIALS, GKE workload identity, the metadata server): no key to leak.
  FCM_SERVICE_ACCOUNT_JSON: z
    .string()
    .min(1)
    .optional()
    .refine((v) => v === undefined || parseServiceAccountKey(v) !== undefined, 'must be a service-account JSON key (with client_email and private_key)'),
  FCM_CREDENTIALS_FILE: optional,
  FCM_CLIENT_EMAIL: optional,
  // PEM; "\n" escapes are accepted so the key fits in one env line.
  FCM_PRIVATE_KEY: optional,
  // Google's token endpoint unless set: tests point the service-account token exchange at a fake.
  FCM_TOKEN_URL: z.string().url().optional(),
  // How long FCM keeps trying an offline device (android ttl, apns-expiration, webpush TTL);
  // FCM's own maximum is 28 days. An hour: a stale sign-in alert helps nobody.
  FCM_TTL_SECONDS: z.coerce.number().int().min(0).max(2_419_200).default(3_600),
  // EMAIL: Amazon SES v2 (default) or any SMTP relay.
  EMAIL_PROVIDER: z.enum(['ses', 'smtp']).default('ses'),
  EMAIL_FROM: optional,
  SES_REGION: z.string().default('us-east-1'),
  SES_ENDPOINT: z.string().url().optional(),
  // Static SES keys, both or neither. Unset = the AWS default credential chain (IAM role, IRSA,
  // ECS task role, AWS_* env, profile): no long-lived key to rotate in production.
  SES_ACCESS_KEY_ID: optional,
  SES_SECRET_ACCESS_KEY: optional,
  // SES configuration set whose event destination publishes bounces and complaints to SNS
  // (receipts); unset = SES sends no events back.
  SES_CONFIGURATION_SET: optional,
  SMTP_URL: optional,
  // The hub's public base URL (ingest-api as mail clients and vendors reach it): MARKETING mail's
  // one-click unsubscribe link and Twilio's StatusCallback point there.
  PUBLIC_BASE_URL: z.string().url().optional(),
  // HMAC-SHA256 key of the one-click unsubscribe links (ingest-api verifies with the same one).
  // Without it (and PUBLIC_BASE_URL) MARKETING email is refused rather than sent unsubscribable.
  UNSUBSCRIBE_SIGNING_SECRET: z.string().min(32).optional(),
  // Optional mailbox offered next to the link in List-Unsubscribe, for clients without one-click.
  UNSUBSCRIBE_MAILTO: z.string().email().optional(),
  // SMS: Twilio Messaging.
  TWILIO_BASE_URL: z.string().url().default('https://api.twilio.com'),
  TWILIO_ACCOUNT_SID: optional,
  TWILIO_AUTH_TOKEN: optional,
  // An API key (SK…) and its secret instead of the auth token (revocable on its own).
  TWILIO_API_KEY_SID: optional,
  TWILIO_API_KEY_SECRET: optional,
  TWILIO_FROM: optional,
  // KAKAO_ALIMTALK: NAVER Cloud SENS Biz Message.
  KAKAO_BASE_URL: z.string().url().default('https://sens.apigw.ntruss.com'),
  KAKAO_SERVICE_ID: optional,
  KAKAO_ACCESS_KEY: optional,
  KAKAO_SECRET_KEY: optional,
  KAKAO_PLUS_FRIEND_ID: optional,
  // Template code for KAKAO_ALIMTALK notifications sent without a template (plain title and
  // body): an approved template whose content is the whole text. Unset = such an attempt fails
  // permanently without a call (and falls back to SMS), as SENS would refuse it (ADR 0027).
  KAKAO_TEMPLATE_CODE: optional,
};

const vendorEnvSchema = z.object(vendorEnv);
export type VendorConfig = z.infer<typeof vendorEnvSchema>;

/** Variables the http adapter of `channel` cannot run without. */
export function requiredVendorVariables(channel: Channel, config: VendorConfig): (keyof VendorConfig)[] {
  if (config.VENDOR_MODE === 'mock') return [];
  switch (channel) {
    case 'PUSH': {
      const project: (keyof VendorConfig)[] = fcmServiceAccountJson(config)?.project_id ? [] : ['FCM_PROJECT_ID'];
      // No key at all is fine (application default credentials); half a key pair is a mistake.
      const halfPair = !config.FCM_SERVICE_ACCOUNT_JSON && !config.FCM_CREDENTIALS_FILE && (config.FCM_CLIENT_EMAIL || config.FCM_PRIVATE_KEY);
      return [...project, ...(halfPair ? (['FCM_CLIENT_EMAIL', 'FCM_PRIVATE_KEY'] as const) : [])];
    }
    case 'EMAIL':
      // SES keys are optional (default credential chain), but one without the other is a mistake.
      if (config.EMAIL_PROVIDER === 'ses') {
        const keys: (keyof VendorConfig)[] = config.SES_ACCESS_KEY_ID || config.SES_SECRET_ACCESS_KEY ? ['SES_ACCESS_KEY_ID', 'SES_SECRET_ACCESS_KEY'] : [];
        return ['EMAIL_FROM', ...keys];
      }
      return ['EMAIL_FROM', 'SMTP_URL'];
    case 'SMS':
      return config.TWILIO_API_KEY_SID || config.TWILIO_API_KEY_SECRET
        ? ['TWILIO_ACCOUNT_SID', 'TWILIO_API_KEY_SID', 'TWILIO_API_KEY_SECRET', 'TWILIO_FROM']
        : ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'];
    case 'KAKAO_ALIMTALK':
      // KAKAO_TEMPLATE_CODE is optional: each template carries its own code (ADR 0027).
      return ['KAKAO_SERVICE_ID', 'KAKAO_ACCESS_KEY', 'KAKAO_SECRET_KEY', 'KAKAO_PLUS_FRIEND_ID'];
  }
}

/**
 * The sender of `channel` for this configuration (validated: required variables are present).
 * Only the adapter this process uses is loaded: the vendor SDKs (google-auth-library, the AWS
 * SDK, nodemailer) cost ~20 MB of RSS and start-up time in every dispatcher otherwise, and a
 * mock-mode dispatcher loads none of them.
 */
export async function createVendorSender(channel: Channel, config: VendorConfig): Promise<VendorSender> {
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
    case 'PUSH': {
      const { FcmSender } = await import('./fcm.ts');
      return new FcmSender({
        baseUrl: config.FCM_BASE_URL,
        projectId: config.FCM_PROJECT_ID ?? fcmServiceAccountJson(config)?.project_id ?? need('FCM_PROJECT_ID'),
        credentials: fcmCredentials(config),
        tokenUrl: config.FCM_TOKEN_URL,
        ttlSeconds: config.FCM_TTL_SECONDS,
        timeoutMs,
      });
    }
    case 'EMAIL': {
      const unsubscribe =
        config.PUBLIC_BASE_URL && config.UNSUBSCRIBE_SIGNING_SECRET
          ? { publicBaseUrl: config.PUBLIC_BASE_URL, signingSecret: config.UNSUBSCRIBE_SIGNING_SECRET, mailto: config.UNSUBSCRIBE_MAILTO }
          : undefined;
      if (config.EMAIL_PROVIDER === 'smtp') {
        const { SmtpSender } = await import('./smtp.ts');
        return new SmtpSender({ url: need('SMTP_URL'), from: need('EMAIL_FROM'), unsubscribe, timeoutMs });
      }
      const { SesSender } = await import('./ses.ts');
      return new SesSender({
        region: config.SES_REGION,
        ...(config.SES_ENDPOINT ? { endpoint: config.SES_ENDPOINT } : {}),
        accessKeyId: config.SES_ACCESS_KEY_ID,
        secretAccessKey: config.SES_SECRET_ACCESS_KEY,
        configurationSet: config.SES_CONFIGURATION_SET,
        from: need('EMAIL_FROM'),
        unsubscribe,
        timeoutMs,
      });
    }
    case 'SMS': {
      const { TwilioSender } = await import('./twilio.ts');
      return new TwilioSender({
        baseUrl: config.TWILIO_BASE_URL,
        accountSid: need('TWILIO_ACCOUNT_SID'),
        authToken: config.TWILIO_AUTH_TOKEN,
        apiKeySid: config.TWILIO_API_KEY_SID,
        apiKeySecret: config.TWILIO_API_KEY_SECRET,
        from: need('TWILIO_FROM'),
        publicBaseUrl: config.PUBLIC_BASE_URL,
        timeoutMs,
      });
    }
    case 'KAKAO_ALIMTALK': {
      const { KakaoAlimtalkSender } = await import('./kakao.ts');
      return new KakaoAlimtalkSender({
        baseUrl: config.KAKAO_BASE_URL,
        serviceId: need('KAKAO_SERVICE_ID'),
        accessKey: need('KAKAO_ACCESS_KEY'),
        secretKey: need('KAKAO_SECRET_KEY'),
        plusFriendId: need('KAKAO_PLUS_FRIEND_ID'),
        defaultTemplateCode: config.KAKAO_TEMPLATE_CODE,
        timeoutMs,
      });
    }
  }
}

interface ServiceAccountKey {
  project_id?: string;
  client_email?: string;
  private_key?: string;
}

/** A service-account JSON key with the fields the token exchange needs; undefined for anything else. */
function parseServiceAccountKey(text: string): ServiceAccountKey | undefined {
  try {
    const key = JSON.parse(text) as ServiceAccountKey | null;
    return typeof key?.client_email === 'string' && typeof key.private_key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** FCM_SERVICE_ACCOUNT_JSON parsed (the schema refused a malformed one); undefined when unset. */
function fcmServiceAccountJson(config: VendorConfig): ServiceAccountKey | undefined {
  return config.FCM_SERVICE_ACCOUNT_JSON ? parseServiceAccountKey(config.FCM_SERVICE_ACCOUNT_JSON) : undefined;
}

/** The first configured form of the FCM key, else application default credentials. */
function fcmCredentials(config: VendorConfig): FcmCredentials {
  const json = fcmServiceAccountJson(config);
  if (json?.client_email && json.private_key) return { type: 'service_account', clientEmail: json.client_email, privateKey: json.private_key };
  if (config.FCM_CREDENTIALS_FILE) return { type: 'key_file', path: config.FCM_CREDENTIALS_FILE };
  if (config.FCM_CLIENT_EMAIL && config.FCM_PRIVATE_KEY) {
    return { type: 'service_account', clientEmail: config.FCM_CLIENT_EMAIL, privateKey: config.FCM_PRIVATE_KEY.replace(/\\n/g, '\n') };
  }
  return { type: 'application_default' };
}
