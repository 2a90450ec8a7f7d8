import { describe, expect, it } from 'vitest';
import { awsSnsTrust, sesDeliveryStatus, snsStringToSign, type SnsEnvelope } from './vendor-receipts-sns.ts';
import { twilioDeliveryStatus, twilioSignature, verifyTwilioSignature } from './vendor-receipts-twilio.ts';

// Twilio's published example: auth token 12345, this URL and these POST parameters.
const TWILIO_URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const TWILIO_PARAMS = new URLSearchParams({ CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' });

describe('twilioSignature', () => {
  it("reproduces Twilio's documented example signature", () => {
    expect(twilioSignature('12345', TWILIO_URL, TWILIO_PARAMS)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  });

  it('does not depend on the order the parameters were posted in', () => {
    const reversed = new URLSearchParams([...TWILIO_PARAMS.entries()].reverse());
    expect(twilioSignature('12345', TWILIO_URL, reversed)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  });

  it('signs each distinct value of a repeated parameter, sorted, as twilio-python does', () => {
    const repeated = new URLSearchParams([['Sid', 'CA123'], ['SidAccount', 'AC123'], ['Digits', '5678'], ['Digits', '1234'], ['Digits', '1234']]);
    expect(twilioSignature('12345', TWILIO_URL, repeated)).toBe('IK+Dwps556ElfBT0I3Rgjkr1wJU=');
  });
});

describe('verifyTwilioSignature', () => {
  const config = { TWILIO_AUTH_TOKEN: '12345', PUBLIC_BASE_URL: 'https://mycompany.com/' };
  const input = (signature: string | undefined, params = TWILIO_PARAMS) => ({ signature, originalUrl: '/myapp.php?foo=1&bar=2', params });

  it('accepts the signature of the URL rebuilt from PUBLIC_BASE_URL', () => {
    expect(() => verifyTwilioSignature(config, input('RSOYDt4T1cUTdK1PDd93/VVr8B8='))).not.toThrow();
  });

  it.each([
    ['a tampered parameter', input('RSOYDt4T1cUTdK1PDd93/VVr8B8=', new URLSearchParams({ ...Object.fromEntries(TWILIO_PARAMS), Digits: '9999' }))],
    ['another signature', input('AAAAAAAAAAAAAAAAAAAAAAAAAAA=')],
    ['no signature', input(undefined)],
    ['a signature that is not base64 SHA1', input('RSOYDt4T1cUTdK1PDd93')],
  ])('rejects %s with 401', (_name, given) => {
    expect(() => verifyTwilioSignature(config, given)).toThrow(expect.objectContaining({ status: 401 }));
  });

  it('refuses everything without an auth token or public URL (fail closed)', () => {
    expect(() => verifyTwilioSignature({ PUBLIC_BASE_URL: config.PUBLIC_BASE_URL }, input('RSOYDt4T1cUTdK1PDd93/VVr8B8='))).toThrow(expect.objectContaining({ status: 401 }));
    expect(() => verifyTwilioSignature({ TWILIO_AUTH_TOKEN: '12345' }, input('RSOYDt4T1cUTdK1PDd93/VVr8B8='))).toThrow(expect.objectContaining({ status: 401 }));
  });
});

describe('twilioDeliveryStatus', () => {
  it.each([
    ['delivered', undefined, { status: 'DELIVERED', reason: null }],
    ['undelivered', '30003', { status: 'UNDELIVERED', reason: 'twilio undelivered 30003' }],
    ['failed', undefined, { status: 'UNDELIVERED', reason: 'twilio failed' }],
    ['undelivered', '30005', { status: 'BOUNCED', reason: 'twilio undelivered 30005' }],
    ['failed', '30006', { status: 'BOUNCED', reason: 'twilio failed 30006' }],
    ['queued', undefined, null],
    ['sending', undefined, null],
    ['sent', undefined, null],
  ])('maps %s (error %s) to %o', (status, code, expected) => {
    expect(twilioDeliveryStatus(status, code)).toEqual(expected);
  });
});

describe('snsStringToSign', () => {
  const base = { MessageId: 'm-1', TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: 'hello\nworld', Timestamp: '2026-03-10T03:00:00.000Z', SignatureVersion: '2' as const, Signature: 'x', SigningCertURL: 'https://sns.us-east-1.amazonaws.com/c.pem' };

  it('lists Message, MessageId, Subject (when present), Timestamp, TopicArn, Type for a Notification', () => {
    const withSubject: SnsEnvelope = { ...base, Type: 'Notification', Subject: 'hi' };
    expect(snsStringToSign(withSubject)).toBe('Message\nhello\nworld\nMessageId\nm-1\nSubject\nhi\nTimestamp\n2026-03-10T03:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:123456789012:t\nType\nNotification\n');
    const without: SnsEnvelope = { ...base, Type: 'Notification' };
    expect(snsStringToSign(without)).not.toContain('Subject');
  });

  it('lists Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type for a SubscriptionConfirmation', () => {
    const envelope: SnsEnvelope = { ...base, Type: 'SubscriptionConfirmation', SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription', Token: 'tok' };
    expect(snsStringToSign(envelope)).toBe(
      'Message\nhello\nworld\nMessageId\nm-1\nSubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription\nTimestamp\n2026-03-10T03:00:00.000Z\nToken\ntok\nTopicArn\narn:aws:sns:us-east-1:123456789012:t\nType\nSubscriptionConfirmation\n',
    );
  });

  it('leaves Signature, SignatureVersion, SigningCertURL and UnsubscribeURL out of what is signed', () => {
    const envelope: SnsEnvelope = { ...base, Type: 'Notification' };
    const other: SnsEnvelope = { ...envelope, Signature: 'other', SignatureVersion: '1', SigningCertURL: 'https://elsewhere/c.pem', UnsubscribeURL: 'https://elsewhere/u' };
    expect(snsStringToSign(other)).toBe(snsStringToSign(envelope));
  });
});

describe('awsSnsTrust', () => {
  it.each([
    ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem', true],
    ['https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem', true],
    ['http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem', false],
    ['https://sns.us-east-1.amazonaws.com:8443/c.pem', false],
    ['https://sns.us-east-1.amazonaws.com.attacker.example/c.pem', false],
    ['https://attacker.example/sns.us-east-1.amazonaws.com/c.pem', false],
    ['https://user@sns.us-east-1.amazonaws.com/c.pem', false],
    ['https://s3.amazonaws.com/c.pem', false],
  ])('allows %s: %s', (url, allowed) => {
    expect(awsSnsTrust.allows(new URL(url))).toBe(allowed);
  });
});

describe('sesDeliveryStatus', () => {
  const mail = { messageId: 'ses-1' };
  it.each([
    [{ eventType: 'Delivery', mail }, { status: 'DELIVERED', reason: null }],
    [{ eventType: 'Bounce', mail, bounce: { bounceType: 'Permanent', bounceSubType: 'General' } }, { status: 'BOUNCED', reason: 'ses bounce Permanent/General' }],
    [{ eventType: 'Bounce', mail, bounce: { bounceType: 'Transient', bounceSubType: 'MailboxFull' } }, { status: 'UNDELIVERED', reason: 'ses bounce Transient/MailboxFull' }],
    [{ eventType: 'Bounce', mail, bounce: { bounceType: 'Undetermined' } }, { status: 'UNDELIVERED', reason: 'ses bounce Undetermined' }],
    [{ eventType: 'Complaint', mail, complaint: { complaintFeedbackType: 'abuse' } }, { status: 'COMPLAINED', reason: 'ses complaint abuse' }],
    [{ notificationType: 'Bounce', mail, bounce: { bounceType: 'Permanent' } }, { status: 'BOUNCED', reason: 'ses bounce Permanent' }],
    [{ eventType: 'Open', mail }, null],
    [{ eventType: 'DeliveryDelay', mail }, null],
  ])('maps %o to %o', (event, expected) => {
    expect(sesDeliveryStatus(event)).toEqual(expected);
  });
});
