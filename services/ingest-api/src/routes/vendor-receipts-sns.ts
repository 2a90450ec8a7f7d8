import { X509Certificate, verify as verifySignature, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { DeliveryStatus } from '@hub/domain';
import { unauthorized, unavailable } from '@hub/http';

const reject = (message: string) => unauthorized('UNAUTHORIZED', message);

/** Where AWS serves SNS signing certificates and subscription confirmations (AWS docs). */
export const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/**
 * Which URLs named inside an SNS message (SigningCertURL, SubscribeURL) may be fetched, and how.
 * Production uses `awsSnsTrust`; tests inject one that trusts only their fake's origin. There is
 * no environment variable for it, so no deployment can widen what is trusted.
 */
export interface SnsTrust {
  allows(url: URL): boolean;
  /** GET the URL; the body as text, or a throw for anything but 2xx. */
  get(url: URL): Promise<string>;
}

const FETCH_TIMEOUT_MS = 5_000;

/** HTTPS on the default port of an `sns.<region>.amazonaws.com` host, nothing else. */
export const awsSnsTrust: SnsTrust = {
  allows: (url) => url.protocol === 'https:' && url.port === '' && url.username === '' && url.password === '' && SNS_HOST.test(url.hostname),
  get: async (url) => {
    const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`GET ${url.hostname}${url.pathname} answered ${res.status}`);
    return res.text();
  },
};

const text = z.string().max(262_144);

/** The JSON document SNS POSTs to an HTTP(S) subscription (AWS: "HTTP/HTTPS … JSON format"). */
export const snsEnvelopeSchema = z.object({
  Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
  MessageId: z.string().min(1).max(128),
  TopicArn: z.string().min(1).max(1024),
  Message: text,
  Timestamp: z.iso.datetime({ offset: true }),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1).max(4096).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64'),
  SigningCertURL: z.string().min(1).max(2048),
  Subject: z.string().max(1024).nullable().optional(),
  SubscribeURL: z.string().max(4096).optional(),
  Token: z.string().max(4096).optional(),
  UnsubscribeURL: z.string().max(4096).optional(),
});
export type SnsEnvelope = z.infer<typeof snsEnvelopeSchema>;

/**
 * The string SNS signs, as AWS documents it: for a Notification `Message`, `MessageId`,
 * `Subject` (only when present), `Timestamp`, `TopicArn`, `Type`; for a (Un)SubscriptionConfirmation
 * `Message`, `MessageId`, `SubscribeURL`, `Timestamp`, `Token`, `TopicArn`, `Type`; each as its
 * name, a newline, its value, a newline.
 */
export function snsStringToSign(envelope: SnsEnvelope): string {
  const fields: [string, string | null | undefined][] =
    envelope.Type === 'Notification'
      ? [
          ['Message', envelope.Message],
          ['MessageId', envelope.MessageId],
          ...(envelope.Subject !== undefined && envelope.Subject !== null ? [['Subject', envelope.Subject] as [string, string]] : []),
          ['Timestamp', envelope.Timestamp],
          ['TopicArn', envelope.TopicArn],
          ['Type', envelope.Type],
        ]
      : [
          ['Message', envelope.Message],
          ['MessageId', envelope.MessageId],
          ['SubscribeURL', envelope.SubscribeURL],
          ['Timestamp', envelope.Timestamp],
          ['Token', envelope.Token],
          ['TopicArn', envelope.TopicArn],
          ['Type', envelope.Type],
        ];
  return fields.map(([name, value]) => `${name}\n${value ?? ''}\n`).join('');
}

const MAX_CACHED_CERTIFICATES = 32;

/**
 * Verifies SNS messages: the signature over `snsStringToSign` with the public key of the
 * certificate at SigningCertURL (RSA-SHA1 for SignatureVersion 1, RSA-SHA256 for 2), fetched only
 * from a URL `trust` allows and cached by URL (SNS rotates certificates by publishing a new URL).
 * A certificate outside its validity period is not used.
 */
export class SnsMessageVerifier {
  readonly #trust: SnsTrust;
  readonly #keys = new Map<string, Promise<{ key: KeyObject; notAfter: Date; notBefore: Date }>>();

  constructor(trust: SnsTrust) {
    this.#trust = trust;
  }

  /** A trusted URL of the message (SigningCertURL, SubscribeURL), or a 401. */
  trustedUrl(value: string | undefined, field: string): URL {
    let url: URL;
    try {
      url = new URL(value ?? '');
    } catch {
      throw reject(`${field} is not a URL`);
    }
    if (!this.#trust.allows(url)) throw reject(`${field} is not an Amazon SNS URL`);
    return url;
  }

  async verify(envelope: SnsEnvelope, now: Date): Promise<void> {
    const certUrl = this.trustedUrl(envelope.SigningCertURL, 'SigningCertURL');
    if (!certUrl.pathname.endsWith('.pem')) throw reject('SigningCertURL is not a certificate');
    if (envelope.Type !== 'Notification' && (!envelope.SubscribeURL || !envelope.Token)) {
      throw reject(`${envelope.Type} without SubscribeURL and Token`);
    }
    const certificate = await this.#certificate(certUrl);
    if (now < certificate.notBefore || now > certificate.notAfter) throw reject('signing certificate is not valid now');
    const algorithm = envelope.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256';
    const valid = verifySignature(algorithm, Buffer.from(snsStringToSign(envelope), 'utf8'), certificate.key, Buffer.from(envelope.Signature, 'base64'));
    if (!valid) throw reject('signature mismatch');
  }

  #certificate(url: URL) {
    const cacheKey = url.href;
    let entry = this.#keys.get(cacheKey);
    if (!entry) {
      entry = this.#load(url);
      if (this.#keys.size >= MAX_CACHED_CERTIFICATES) this.#keys.delete(this.#keys.keys().next().value!);
      this.#keys.set(cacheKey, entry);
      // A failed fetch is not cached: the next message tries again.
      entry.catch(() => this.#keys.delete(cacheKey));
    }
    return entry;
  }

  async #load(url: URL) {
    let pem: string;
    try {
      pem = await this.#trust.get(url);
    } catch (err) {
      // Our side (network, AWS) failed, not the sender: 503, and SNS retries the delivery.
      throw unavailable('the SNS signing certificate could not be fetched', err);
    }
    try {
      const certificate = new X509Certificate(pem);
      const notBefore = new Date(certificate.validFrom);
      const notAfter = new Date(certificate.validTo);
      // An unreadable validity period must not silently skip the check (NaN compares false).
      if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) throw new Error('unreadable validity period');
      return { key: certificate.publicKey, notBefore, notAfter };
    } catch {
      throw reject('SigningCertURL did not serve a usable X.509 certificate');
    }
  }
}

/**
 * The part of an SES event (configuration-set event publishing, `eventType`; or identity
 * notifications, `notificationType`) the hub reads. Everything else in it is left alone.
 */
export const sesEventSchema = z.object({
  eventType: z.string().max(64).optional(),
  notificationType: z.string().max(64).optional(),
  mail: z.object({
    messageId: z.string().min(1).max(256),
    tags: z.record(z.string(), z.array(z.string().max(256)).max(64)).optional(),
  }),
  bounce: z.object({ bounceType: z.string().max(64), bounceSubType: z.string().max(64).optional() }).optional(),
  complaint: z.object({ complaintFeedbackType: z.string().max(64).optional(), complaintSubType: z.string().max(64).nullable().optional() }).optional(),
});
export type SesEvent = z.infer<typeof sesEventSchema>;

/**
 * What an SES event means for the attempt's delivery status: Delivery → DELIVERED; a Permanent
 * bounce → BOUNCED (suppressed); a Transient or Undetermined bounce → UNDELIVERED (SES already
 * retried; the mailbox may take mail again later); Complaint → COMPLAINED (suppressed). Other
 * events (Send, Open, Click, DeliveryDelay, Reject, …) say nothing final: `null`.
 */
export function sesDeliveryStatus(event: SesEvent): { status: DeliveryStatus; reason: string | null } | null {
  switch (event.eventType ?? event.notificationType) {
    case 'Delivery':
      return { status: 'DELIVERED', reason: null };
    case 'Bounce': {
      if (!event.bounce) return null;
      const reason = `ses bounce ${event.bounce.bounceType}${event.bounce.bounceSubType ? `/${event.bounce.bounceSubType}` : ''}`;
      return { status: event.bounce.bounceType === 'Permanent' ? 'BOUNCED' : 'UNDELIVERED', reason };
    }
    case 'Complaint':
      return { status: 'COMPLAINED', reason: `ses complaint${event.complaint?.complaintFeedbackType ? ` ${event.complaint.complaintFeedbackType}` : ''}` };
    default:
      return null;
  }
}
