// What the runner and the counting vendor (vendor-server.ts, its own process) agree on.

export type VendorName = 'fcm' | 'ses' | 'twilio' | 'kakao';

export interface VendorServerConfig {
  fcm: { projectId: string; clientEmail: string; publicKeyPem: string };
  twilio: { accountSid: string; authToken: string };
  kakao: { serviceId: string; accessKey: string; secretKey: string };
  /** Each send is answered after a uniform random delay in [min, max] ms, so kills find sends in flight. */
  latencyMinMs: number;
  latencyMaxMs: number;
}

/** One request a dispatcher made to a vendor, as the counting vendor saw it. Times are epoch ms (fractional). */
export interface SendRecord {
  seq: number;
  /** The dispatcher process that sent it (its base URL's /i/<slot> prefix): push-1.g1 (replica 1, first process), email-2.g3, … */
  slot: string;
  vendor: VendorName;
  /** FCM: the hub's attempt id; SES/Twilio/Kakao: the chaos token of the notification's body; null if none. */
  key: string | null;
  /** The request arrived (body read). */
  startedAt: number;
  /** The answer was written to the socket; null if the dispatcher had gone before it. */
  answeredAt: number | null;
  /** The dispatcher's connection closed before the answer was written (killed, or its own timeout). */
  abandonedAt: number | null;
  status: number;
  /** The vendor took the message (2xx, and for Kakao requestStatusCode A000), whether or not the dispatcher heard. */
  accepted: boolean;
}

/** The token the load generator puts in every notification's body (its Idempotency-Key). */
export const CHAOS_TOKEN_PATTERN = 'chaos-[a-z0-9]+-\\d+';

export const VENDOR_OF_CHANNEL = {
  PUSH: 'fcm',
  EMAIL: 'ses',
  SMS: 'twilio',
  KAKAO_ALIMTALK: 'kakao',
} as const satisfies Record<string, VendorName>;
