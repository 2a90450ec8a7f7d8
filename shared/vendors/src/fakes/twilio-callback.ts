import { createHmac } from 'node:crypto';

/**
 * `X-Twilio-Signature` of a status callback, computed the way Twilio documents it (independently
 * of the hub's verifier, so a test proves the two agree): the full callback URL followed by each
 * POST parameter sorted by name, name immediately followed by value, HMAC-SHA1 with the auth
 * token, base64.
 */
export function twilioCallbackSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, name) => acc + name + params[name], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** The form fields Twilio posts to a StatusCallback for one message status. */
export function twilioStatusCallbackForm(input: {
  messageSid: string;
  status: 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed';
  to: string;
  errorCode?: string;
  accountSid?: string;
}): Record<string, string> {
  return {
    AccountSid: input.accountSid ?? 'AC00000000000000000000000000000000',
    ApiVersion: '2010-04-01',
    From: '+15005550006',
    MessageSid: input.messageSid,
    SmsSid: input.messageSid,
    SmsStatus: input.status,
    MessageStatus: input.status,
    To: input.to,
    ...(input.errorCode ? { ErrorCode: input.errorCode } : {}),
  };
}
