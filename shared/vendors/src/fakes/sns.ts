import { createSign, randomUUID } from 'node:crypto';
import { startFakeServer, type FakeServer } from './server.ts';

// A throwaway RSA key and its self-signed certificate (CN=sns.fake.amazonaws.test, valid
// 2000–2100), made with openssl for these tests only. Nothing trusts them outside a test that
// injects the fake's origin as its SNS trust.
const TEST_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDzNRZi2WNpO//I
IyJK48ob1pR3KOBQdWMjaxIt5ZB/RQ9kjyu42ofsfTKkZ1+ZVyJQo8KEM75iWCOa
HaRZC5jwowj8NFnNcqVahN+Q0vp9ah8Ui8S1e/1K9WjOSuHXnXLM7Fd3/wAgm9Vg
A1CsRCw/kVPNoP5shjTfcJhXM/FymkK/Zpmi+U9sm0GNGNzH21CXt7fCbvVV0SKn
MEPO1xl/U/1aCvieO6ZEzwmfGNUrgmBPmzExUMD8tGkTQk+vIVcmT/tt0R73tEHj
CJklS50ENcUN7FIr3/0WkxYZyc7CvPhLBtKOzLGVszmsiWSS0T0dBmr1oeeJiKMX
6FeR0qDRAgMBAAECggEAFg1XXCtqr4cukkC4SmrU37kRUWwqCbWZIYQi+/kjpNyX
0JYIQHzFJBj2i3Bpm0tqq73rhGX2Mm/cO4xKQ34xFgmsZgTfqyik7FwdsuGkb5R8
oLXrJksJrJ8rq3/f8jdfKkxYQoPDSNGkc24dhZ8xVWq5muypASFaoDNzBr4pm4rK
t9Qcv9zTemhU45ydq9gD8f0Bgxzu0Aei/vAmRn0wS2qaXUNZ9uIWXa9nhXFIJCvx
UAfj8Rs1LixqUms497ugAVEBxrs66+Poole2X75ENLco8fNANDc2Qg7cy8+0Ze6J
VYr29Vtzy8YmGysO8WHhKgvPlbKm+d5Zn4Dk1JoZGQKBgQD73XZk97HCNhkFlBp1
B6J9dgFgpklVGDGORMXNuG9shMdIwZK0h5xONpaKZ+uu7Bouuxd3Xv5GHUDgNq/E
4Qh66kqpMq9e698yLrJCUonPTZjZSmAb0Nywws30xrcJrREMZGPWO8LfsBO6SSBu
j6aw2EOxT2M1aTMYnM2D+axpyQKBgQD3Mz0FKGc/355LNDlHVEakHrnFQY3NkBu/
PwkCcsVdBxcnYNwd2CoUQFrKc4j+RWQ94XgOwTfcLjQdc/+JAMQ2kjwl164vjgBu
dxQAi75i4UuYJ/szz1FGXBcTThu3V20F/PNBU0jXB6oReJv4A0VSBY1OIu5TwfwY
eC9z+6ACyQKBgGm1T2WdF/w9HE9dE6WeqLIjfvyDji+q0dG2R5bKG+nd6I4+wEYI
zK9+9bvtVdu6uFp4p6awNeRTjtEL4sWs9RQxlVhiL3yVXr3/H036umBJXyeDsca6
6IU/nZVoeZYUDx22XLijqGydyAnde0EsBXgfrHmUqjzWhF2GIjOL7LMRAoGBAL+7
7khh3jOcrpqGFydMJr6FVnG5NtOKQvtDWSmc+5f8N+lDJ3e+gmTSxZjhpBAUonuc
thI7q6gL7kAqCLmq7oWlRyHS+DfKXGtR0SHbQgBP3uJVoHG/C7sXEo7WtoiuNtG+
MK8qegTO3QpQEil73/iOddt1HIW6oF4aWjQLp0CBAoGBAMfXR+XjEYJ/Rqc/aWns
ROYgoXULe7+6sqsEkDwZ+PiOQMAYMUGMfoa7zdj2ZmW3o33TaU06VvrM3wpVObpX
Mb4j3gaUtGv6veDjVaRll3QGDqXx3WDhesFOUWqkROpTx/R83hgLWb4ajYSzV/0a
0KxjIfg2ZpZ5EkwyyXzJ8aIk
-----END PRIVATE KEY-----`;
const TEST_CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIICujCCAaICAQEwDQYJKoZIhvcNAQELBQAwIjEgMB4GA1UEAwwXc25zLmZha2Uu
YW1hem9uYXdzLnRlc3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBa
MCIxIDAeBgNVBAMMF3Nucy5mYWtlLmFtYXpvbmF3cy50ZXN0MIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEA8zUWYtljaTv/yCMiSuPKG9aUdyjgUHVjI2sS
LeWQf0UPZI8ruNqH7H0ypGdfmVciUKPChDO+Ylgjmh2kWQuY8KMI/DRZzXKlWoTf
kNL6fWofFIvEtXv9SvVozkrh151yzOxXd/8AIJvVYANQrEQsP5FTzaD+bIY033CY
VzPxcppCv2aZovlPbJtBjRjcx9tQl7e3wm71VdEipzBDztcZf1P9Wgr4njumRM8J
nxjVK4JgT5sxMVDA/LRpE0JPryFXJk/7bdEe97RB4wiZJUudBDXFDexSK9/9FpMW
GcnOwrz4SwbSjsyxlbM5rIlkktE9HQZq9aHniYijF+hXkdKg0QIDAQABMA0GCSqG
SIb3DQEBCwUAA4IBAQAb2whFypV14RSym0Fkt8UTW/hJ2Rhk9AxvcCzlUy5riJZA
sXvBBa/1s9Nkr2L9p27Sxl0ktdwGMrT+MFqbab/qHnZkgqG69lbdJMeir5IwTyWc
ZkIiDUZdYEbuo/oQUulJ69D4FWJMRVGE0YgkftvFCoMAY+Icc5RItDby5cYsXKVc
4WYuc/tlBcUu3cXxqIqvpLAUbRAuKBYJ+G0slWAq13raKwj8bBE92HEq+77Pa3Ok
ToWS3RPLcbSKqaVcpWXb9uYR2VOWbYAPL21kEzf+GgisRf9ZGQdT61FowpsAOiiE
z4XuCJT5cWaug7wMoJlvZZHmCpclmmqktbrSF7Jn
-----END CERTIFICATE-----`;

export type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/** The JSON document SNS posts to an HTTP(S) subscription. */
export interface SnsEnvelope {
  Type: SnsMessageType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '1' | '2';
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
  UnsubscribeURL?: string;
}

export interface PublishInput {
  type?: SnsMessageType;
  topicArn: string;
  /** The message body; objects are JSON-encoded as SES does. */
  message: string | object;
  subject?: string;
  signatureVersion?: '1' | '2';
  timestamp?: Date;
  messageId?: string;
}

export interface FakeSns extends FakeServer {
  /** Where the fake serves its signing certificate. */
  certUrl: string;
  /** Tokens of the subscriptions confirmed through their SubscribeURL. */
  confirmedTokens: string[];
  /** A signed envelope as SNS would POST it. */
  envelope(input: PublishInput): SnsEnvelope;
  /** Makes the certificate endpoint answer 503 (`false`) or the certificate (`true`). */
  serveCertificate(up: boolean): void;
}

/**
 * Amazon SNS as an HTTPS subscription sees it: signed envelopes (SignatureVersion 1 RSA-SHA1 or
 * 2 RSA-SHA256 over the documented string to sign), the signing certificate served at
 * SigningCertURL, and a SubscribeURL that confirms the subscription when fetched.
 */
export async function startFakeSns(): Promise<FakeSns> {
  const confirmedTokens: string[] = [];
  let certificateUp = true;
  const server = await startFakeServer((request) => {
    const url = new URL(request.path, 'http://fake');
    if (request.method === 'GET' && url.pathname.endsWith('.pem')) {
      return certificateUp
        ? { status: 200, headers: { 'content-type': 'application/x-pem-file' }, body: TEST_CERTIFICATE }
        : { status: 503, body: 'unavailable' };
    }
    if (request.method === 'GET' && url.searchParams.get('Action') === 'ConfirmSubscription') {
      confirmedTokens.push(url.searchParams.get('Token') ?? '');
      return {
        status: 200,
        headers: { 'content-type': 'text/xml' },
        body: '<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:us-east-1:123456789012:fake:1</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>',
      };
    }
    return { status: 404, body: { message: 'not found' } };
  });
  const certUrl = `${server.url}/SimpleNotificationService-fake.pem`;
  return {
    ...server,
    certUrl,
    confirmedTokens,
    serveCertificate: (up) => void (certificateUp = up),
    envelope: (input) => {
      const type = input.type ?? 'Notification';
      const token = randomUUID().replace(/-/g, '');
      const fields: Omit<SnsEnvelope, 'Signature'> = {
        Type: type,
        MessageId: input.messageId ?? randomUUID(),
        TopicArn: input.topicArn,
        Message: typeof input.message === 'string' ? input.message : JSON.stringify(input.message),
        Timestamp: (input.timestamp ?? new Date()).toISOString(),
        SignatureVersion: input.signatureVersion ?? '2',
        SigningCertURL: certUrl,
        ...(input.subject !== undefined ? { Subject: input.subject } : {}),
        ...(type === 'Notification'
          ? { UnsubscribeURL: `${server.url}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(`${input.topicArn}:sub`)}` }
          : { Token: token, SubscribeURL: `${server.url}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(input.topicArn)}&Token=${token}` }),
      };
      return { ...fields, Signature: signSnsEnvelope(fields) };
    },
  };
}

/** The signature SNS puts on an envelope, with the fake's key (AWS: "Verifying the signatures of Amazon SNS messages"). */
export function signSnsEnvelope(fields: Omit<SnsEnvelope, 'Signature'>, privateKey: string = TEST_PRIVATE_KEY): string {
  const names =
    fields.Type === 'Notification'
      ? (['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const)
      : (['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const);
  let stringToSign = '';
  for (const name of names) {
    const value = fields[name];
    if (value === undefined) continue; // Subject only when present
    stringToSign += `${name}\n${value}\n`;
  }
  return createSign(fields.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(stringToSign, 'utf8').sign(privateKey, 'base64');
}

/** An SES event (configuration-set event publishing) as SNS carries it in `Message`. */
export function sesEvent(input: {
  eventType: 'Bounce' | 'Complaint' | 'Delivery' | 'Send' | 'Open';
  messageId: string;
  recipient: string;
  attemptId?: string;
  bounceType?: 'Permanent' | 'Transient' | 'Undetermined';
  bounceSubType?: string;
}): object {
  const timestamp = new Date().toISOString();
  const mail = {
    timestamp,
    source: 'hub@example.com',
    sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/example.com',
    sendingAccountId: '123456789012',
    messageId: input.messageId,
    destination: [input.recipient],
    headersTruncated: false,
    tags: {
      'ses:configuration-set': ['notification-hub'],
      ...(input.attemptId ? { attemptId: [input.attemptId] } : {}),
    },
  };
  switch (input.eventType) {
    case 'Bounce':
      return {
        eventType: 'Bounce',
        bounce: {
          feedbackId: `${randomUUID()}-000000`,
          bounceType: input.bounceType ?? 'Permanent',
          bounceSubType: input.bounceSubType ?? 'General',
          bouncedRecipients: [{ emailAddress: input.recipient, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
          timestamp,
          reportingMTA: 'dsn; a1-2.smtp-out.amazonses.com',
        },
        mail,
      };
    case 'Complaint':
      return {
        eventType: 'Complaint',
        complaint: { feedbackId: `${randomUUID()}-000000`, complainedRecipients: [{ emailAddress: input.recipient }], timestamp, complaintFeedbackType: 'abuse' },
        mail,
      };
    case 'Delivery':
      return {
        eventType: 'Delivery',
        delivery: { timestamp, processingTimeMillis: 546, recipients: [input.recipient], smtpResponse: '250 ok', reportingMTA: 'a8-70.smtp-out.amazonses.com' },
        mail,
      };
    default:
      return { eventType: input.eventType, mail };
  }
}
