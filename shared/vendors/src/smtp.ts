import nodemailer, { type Transporter } from 'nodemailer';
import type { ErrorClass } from '@hub/domain';
import { listUnsubscribeHeaders, type ListUnsubscribeOptions } from './list-unsubscribe.ts';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';

export interface SmtpOptions {
  /** smtp://user:pass@host:port or smtps://… */
  url: string;
  from: string;
  /** One-click unsubscribe of MARKETING mail; without it MARKETING mail is refused (permanent). */
  unsubscribe?: ListUnsubscribeOptions | undefined;
  timeoutMs: number;
}

/**
 * SMTP via nodemailer: 4xx replies are transient, 5xx permanent, a refused mailbox (RCPT
 * 550/551/553) invalid. With an HTML body the message is multipart/alternative (text first,
 * then HTML, the order RFC 2046 gives to increasing preference); MARKETING mail carries the
 * RFC 8058 one-click unsubscribe headers.
 */
export class SmtpSender implements VendorSender {
  readonly name = 'smtp';
  private readonly transport: Transporter;
  private readonly from: string;
  private readonly unsubscribe: ListUnsubscribeOptions | undefined;

  constructor(options: SmtpOptions) {
    this.from = options.from;
    this.unsubscribe = options.unsubscribe;
    this.transport = nodemailer.createTransport({
      url: options.url,
      pool: true,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    } as Parameters<typeof nodemailer.createTransport>[0]);
  }

  async send(request: VendorRequest): Promise<VendorAccepted> {
    const unsubscribe = listUnsubscribeHeaders(this.unsubscribe, request);
    try {
      const info = await this.transport.sendMail({
        from: this.from,
        to: request.address,
        subject: request.title,
        text: request.body,
        ...(request.htmlBody ? { html: request.htmlBody } : {}),
        headers: { 'X-Notification-Hub-Attempt': request.attemptId, ...unsubscribe },
      });
      return { vendorMessageId: String(info.messageId) };
    } catch (err) {
      const e = err as { responseCode?: number; command?: string; code?: string };
      const code = e.responseCode;
      let errorClass: ErrorClass = 'transient';
      if (code !== undefined && code >= 500) {
        errorClass = e.command === 'RCPT TO' && [550, 551, 553].includes(code) ? 'invalid_recipient' : 'permanent';
      }
      throw new VendorError(errorClass, `smtp ${code ?? e.code ?? 'error'}${e.command ? ` on ${e.command}` : ''}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
