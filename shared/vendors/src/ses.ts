import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ErrorClass } from '@hub/domain';
import { listUnsubscribeHeaders, type ListUnsubscribeOptions } from './list-unsubscribe.ts';
import { parseRetryAfterMs } from './http.ts';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';

export interface SesOptions {
  region: string;
  /** Unset in production (the regional endpoint); a fake server in tests. */
  endpoint?: string;
  /**
   * Static keys, both or neither. Without them the SDK's default credential chain signs: env
   * (AWS_ACCESS_KEY_ID…), web identity (IRSA, EKS pod identity), SSO/profile files, ECS task role,
   * EC2 instance role; its temporary credentials are refreshed before they expire.
   */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  from: string;
  /** SES configuration set whose event destination (SNS) publishes bounces, complaints and deliveries. */
  configurationSet?: string | undefined;
  /** One-click unsubscribe of MARKETING mail; without it MARKETING mail is refused (permanent). */
  unsubscribe?: ListUnsubscribeOptions | undefined;
  timeoutMs: number;
}

/**
 * SES v2 SendEmail error names (API reference, "Errors" and common errors) and what they say
 * about a retry. ThrottlingException is the API-level throttle, TooManyRequests/LimitExceeded
 * the sending-rate and quota ones.
 */
const SES_ERRORS: Record<string, ErrorClass> = {
  ThrottlingException: 'transient',
  TooManyRequestsException: 'transient',
  LimitExceededException: 'transient',
  InternalServiceErrorException: 'transient',
  InternalFailure: 'transient',
  ServiceUnavailable: 'transient',
  MessageRejected: 'permanent',
  MailFromDomainNotVerifiedException: 'permanent',
  AccountSuspendedException: 'permanent',
  SendingPausedException: 'permanent',
  NotFoundException: 'permanent',
  BadRequestException: 'permanent',
};

type SdkError = {
  name?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
};


/**
 * Amazon SES v2 via the AWS SDK; the SDK's own retries are off (the dispatcher's policy retries).
 * Sends the text part, the HTML part when the template has one, the RFC 8058 headers on
 * MARKETING mail, the configuration set when configured, and the attempt id as the `attemptId`
 * message tag, which SES repeats in every event (`mail.tags.attemptId`) so receipts find the attempt.
 */
export class SesSender implements VendorSender {
  readonly name = 'ses';
  private readonly client: SESv2Client;
  private readonly options: SesOptions;

  constructor(options: SesOptions) {
    if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
      throw new Error('SES static credentials need both the access key id and the secret access key');
    }
    this.options = options;
    this.client = new SESv2Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      // No credentials given: the client resolves the default provider chain itself.
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ requestTimeout: options.timeoutMs, connectionTimeout: options.timeoutMs, throwOnRequestTimeout: true }),
    });
  }

  async send(request: VendorRequest): Promise<VendorAccepted> {
    const headers = Object.entries(listUnsubscribeHeaders(this.options.unsubscribe, request)).map(([Name, Value]) => ({ Name, Value }));
    try {
      const result = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.options.from,
          Destination: { ToAddresses: [request.address] },
          Content: {
            Simple: {
              Subject: { Data: request.title, Charset: 'UTF-8' },
              Body: {
                Text: { Data: request.body, Charset: 'UTF-8' },
                ...(request.htmlBody ? { Html: { Data: request.htmlBody, Charset: 'UTF-8' } } : {}),
              },
              ...(headers.length > 0 ? { Headers: headers } : {}),
            },
          },
          EmailTags: [{ Name: 'attemptId', Value: request.attemptId }],
          ...(this.options.configurationSet ? { ConfigurationSetName: this.options.configurationSet } : {}),
        }),
        // The handler's requestTimeout only warns; the abort signal is what ends a hung call.
        { abortSignal: AbortSignal.timeout(this.options.timeoutMs) },
      );
      // Accepted without a MessageId is still accepted: sending again would deliver twice (SPEC §2).
      return { vendorMessageId: result.MessageId ?? null };
    } catch (err) {
      if (err instanceof VendorError) throw err;
      const e = err as SdkError;
      const status = e.$metadata?.httpStatusCode;
      let errorClass: ErrorClass =
        (e.name && SES_ERRORS[e.name]) || (status === 429 ? 'transient' : e.$fault === 'client' ? 'permanent' : 'transient');
      // SES refuses a malformed recipient with BadRequest naming the address ("Illegal address").
      if (e.name === 'BadRequestException' && /address|recipient/i.test(e.message ?? '')) {
        errorClass = 'invalid_recipient';
      }
      const retryAfterMs = errorClass === 'transient' ? parseRetryAfterMs(e.$response?.headers?.['retry-after']) : undefined;
      throw new VendorError(errorClass, `ses ${status ?? 'no response'} ${e.name ?? 'error'}`, { cause: err, retryAfterMs });
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
