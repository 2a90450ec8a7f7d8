import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ErrorClass } from '@hub/domain';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';

export interface SesOptions {
  region: string;
  /** Unset in production (the regional endpoint); a fake server in tests. */
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  from: string;
  timeoutMs: number;
}

/** SES v2 SendEmail error names (API reference) and what they say about a retry. */
const SES_ERRORS: Record<string, ErrorClass> = {
  TooManyRequestsException: 'transient',
  LimitExceededException: 'transient',
  InternalServiceErrorException: 'transient',
  MessageRejected: 'permanent',
  MailFromDomainNotVerifiedException: 'permanent',
  AccountSuspendedException: 'permanent',
  SendingPausedException: 'permanent',
  NotFoundException: 'permanent',
  BadRequestException: 'permanent',
};

/** Amazon SES v2 via the AWS SDK; the SDK's own retries are off (the dispatcher's policy retries). */
export class SesSender implements VendorSender {
  readonly name = 'ses';
  private readonly client: SESv2Client;
  private readonly from: string;
  private readonly timeoutMs: number;

  constructor(options: SesOptions) {
    this.from = options.from;
    this.timeoutMs = options.timeoutMs;
    this.client = new SESv2Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ requestTimeout: options.timeoutMs, connectionTimeout: options.timeoutMs, throwOnRequestTimeout: true }),
    });
  }

  async send(request: VendorRequest): Promise<VendorAccepted> {
    try {
      const result = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.from,
          Destination: { ToAddresses: [request.address] },
          Content: { Simple: { Subject: { Data: request.title }, Body: { Text: { Data: request.body } } } },
        }),
        // The handler's requestTimeout only warns; the abort signal is what ends a hung call.
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
      // Accepted without a MessageId is still accepted: sending again would deliver twice (SPEC §2).
      return { vendorMessageId: result.MessageId ?? null };
    } catch (err) {
      if (err instanceof VendorError) throw err;
      const e = err as { name?: string; message?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      let errorClass: ErrorClass = (e.name && SES_ERRORS[e.name]) || (e.$fault === 'client' ? 'permanent' : 'transient');
      // SES refuses a malformed or suppressed recipient with BadRequest naming the address.
      if (e.name === 'BadRequestException' && /address|recipient|suppress/i.test(e.message ?? '')) {
        errorClass = 'invalid_recipient';
      }
      throw new VendorError(errorClass, `ses ${status ?? 'no response'} ${e.name ?? 'error'}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
