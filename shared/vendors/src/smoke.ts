// `npm run vendors:smoke`: one real message per vendor whose credentials are in the environment,
// so a team checks its set-up in a minute. Sends through the same factory the dispatchers use
// (createVendorSender), so what works here works there. Never in CI: it spends real money and
// needs real credentials; it refuses when CI is set, and when no vendor is configured.
import { z } from 'zod';
import { newId, type Channel } from '@hub/domain';
import { createVendorSender, requiredVendorVariables, vendorEnv, type VendorConfig } from './config.ts';
import { asVendorError, type VendorRequest } from './types.ts';

interface SmokeVendor {
  channel: Channel;
  /** Variables whose presence says "this vendor is meant to be configured". */
  signals: string[];
  /** Where the smoke message goes (a test device, mailbox or phone of the team). */
  target: string;
  /** Further variables the smoke message needs. */
  extra?: string[];
}

const VENDORS: SmokeVendor[] = [
  { channel: 'PUSH', signals: ['FCM_PROJECT_ID', 'FCM_SERVICE_ACCOUNT_JSON', 'FCM_CREDENTIALS_FILE', 'FCM_CLIENT_EMAIL'], target: 'SMOKE_PUSH_TOKEN' },
  { channel: 'EMAIL', signals: ['EMAIL_FROM', 'SMTP_URL', 'SES_ACCESS_KEY_ID'], target: 'SMOKE_EMAIL_TO' },
  { channel: 'SMS', signals: ['TWILIO_ACCOUNT_SID'], target: 'SMOKE_SMS_TO' },
  // AlimTalk only delivers text matching an approved template: the team gives one of theirs.
  { channel: 'KAKAO_ALIMTALK', signals: ['KAKAO_SERVICE_ID'], target: 'SMOKE_KAKAO_TO', extra: ['SMOKE_KAKAO_TEMPLATE_CODE', 'SMOKE_KAKAO_CONTENT'] },
];

const HELP = `Set, for each vendor to check (docs/vendors.md lists every variable):
  PUSH (FCM)            FCM_PROJECT_ID + credentials (FCM_SERVICE_ACCOUNT_JSON, FCM_CREDENTIALS_FILE or application default credentials), SMOKE_PUSH_TOKEN
  EMAIL (SES or SMTP)   EMAIL_FROM (+ EMAIL_PROVIDER=smtp and SMTP_URL, or SES keys / the AWS credential chain), SMOKE_EMAIL_TO
  SMS (Twilio)          TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN (or TWILIO_API_KEY_SID + TWILIO_API_KEY_SECRET), TWILIO_FROM, SMOKE_SMS_TO
  KAKAO_ALIMTALK (SENS) KAKAO_SERVICE_ID, KAKAO_ACCESS_KEY, KAKAO_SECRET_KEY, KAKAO_PLUS_FRIEND_ID, SMOKE_KAKAO_TO, SMOKE_KAKAO_TEMPLATE_CODE, SMOKE_KAKAO_CONTENT`;

const present = (env: Record<string, string | undefined>, name: string) => (env[name] ?? '').trim() !== '';

/**
 * Runs the smoke check against `env` and reports through `print`; resolves to the process exit
 * code: 0 all configured vendors accepted, 1 a vendor refused, 2 refused to run.
 */
export async function runSmoke(env: Record<string, string | undefined>, print: (line: string) => void): Promise<number> {
  if (present(env, 'CI') && env.CI !== 'false') {
    print('vendors:smoke does not run in CI: it sends real messages with real credentials. Run it by hand.');
    return 2;
  }
  const parsed = z.object(vendorEnv).safeParse({ ...env, VENDOR_MODE: 'http' });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) print(`invalid ${issue.path.join('.')}: ${issue.message}`);
    return 2;
  }
  const config: VendorConfig = parsed.data;
  const ready: SmokeVendor[] = [];
  for (const vendor of VENDORS) {
    const label = labelOf(vendor.channel, config);
    if (!vendor.signals.some((name) => present(env, name))) {
      print(`skip  ${label}: not configured (${vendor.signals.join(' / ')} unset)`);
      continue;
    }
    const missing = [...requiredVendorVariables(vendor.channel, config), vendor.target, ...(vendor.extra ?? [])].filter((name) => !present(env, name));
    if (missing.length > 0) {
      print(`skip  ${label}: set ${missing.join(', ')}`);
      continue;
    }
    ready.push(vendor);
  }
  if (ready.length === 0) {
    print('No vendor is configured: nothing was sent.');
    print(HELP);
    return 2;
  }
  let failed = 0;
  for (const vendor of ready) {
    const label = labelOf(vendor.channel, config);
    let sender;
    try {
      sender = await createVendorSender(vendor.channel, config);
    } catch (err) {
      failed += 1;
      print(`error ${label}: cannot start: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const request: VendorRequest = {
      attemptId: newId(),
      channel: vendor.channel,
      address: env[vendor.target]!.trim(),
      title: 'Notification Hub smoke test',
      body: vendor.channel === 'KAKAO_ALIMTALK' ? env.SMOKE_KAKAO_CONTENT! : `Notification Hub smoke test of ${label}. No action needed.`,
      kind: 'TRANSACTIONAL',
      recipientId: 'vendors-smoke',
      ...(vendor.channel === 'KAKAO_ALIMTALK' ? { providerTemplateCode: env.SMOKE_KAKAO_TEMPLATE_CODE! } : {}),
    };
    try {
      const accepted = await sender.send(request);
      print(`ok    ${label}: accepted, vendor message id ${accepted.vendorMessageId ?? '(none given)'}`);
    } catch (err) {
      failed += 1;
      const error = asVendorError(err);
      print(`error ${label}: ${error.errorClass}: ${error.detail}`);
    } finally {
      await sender.close?.();
    }
  }
  return failed > 0 ? 1 : 0;
}

function labelOf(channel: Channel, config: VendorConfig): string {
  const vendor = { PUSH: 'fcm', EMAIL: config.EMAIL_PROVIDER, SMS: 'twilio', KAKAO_ALIMTALK: 'sens' }[channel];
  return `${channel} (${vendor})`;
}

if (import.meta.main) {
  process.exitCode = await runSmoke(process.env, (line) => console.log(line));
}
