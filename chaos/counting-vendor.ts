// Starts the counting vendor (vendor-server.ts) as its own process and talks to its control API.
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import type { Channel } from '@hub/domain';
import { EventLog, ManagedProcess, repoRoot } from './processes.ts';
import type { SendRecord, VendorServerConfig } from './vendor-protocol.ts';

const FCM = { projectId: 'chaos-project', clientEmail: 'chaos@chaos-project.iam.gserviceaccount.com' };
const TWILIO = { accountSid: 'ACchaos0000000000000000000000000', authToken: 'chaos-twilio-token', from: '+15005550006' };
const KAKAO = { serviceId: 'ncp:kkobizmsg:kr:chaos:hub', accessKey: 'chaos-access-key', secretKey: 'chaos-secret-key', plusFriendId: '@chaoshub', templateCode: 'CHAOS01' };
const SES = { accessKeyId: 'AKIDCHAOSEXAMPLE', secretAccessKey: 'chaos-ses-secret', from: 'hub@chaos.example.com' };

export class CountingVendor {
  readonly process: ManagedProcess;
  readonly url: string;
  private readonly privateKeyPem: string;

  private constructor(proc: ManagedProcess, url: string, privateKeyPem: string) {
    this.process = proc;
    this.url = url;
    this.privateKeyPem = privateKeyPem;
  }

  /** Spawns the server and waits for the port it prints. */
  static async start(options: { latencyMinMs: number; latencyMaxMs: number; logFile: string; events: EventLog }): Promise<CountingVendor> {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const config: VendorServerConfig = {
      fcm: { ...FCM, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
      twilio: { accountSid: TWILIO.accountSid, authToken: TWILIO.authToken },
      kakao: { serviceId: KAKAO.serviceId, accessKey: KAKAO.accessKey, secretKey: KAKAO.secretKey },
      latencyMinMs: options.latencyMinMs,
      latencyMaxMs: options.latencyMaxMs,
    };
    let port: number | undefined;
    const managed = new ManagedProcess(
      {
        slot: 'counting-vendor',
        command: process.execPath,
        args: ['--disable-warning=TimeoutNegativeWarning', path.join(repoRoot, 'chaos', 'vendor-server.ts')],
        env: { CHAOS_VENDOR_CONFIG: JSON.stringify(config) },
        logFile: options.logFile,
        ready: async () => port !== undefined,
      },
      options.events,
    );
    managed.start();
    const lines = readline.createInterface({ input: managed.child!.stdout! });
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the counting vendor did not print its port within 30 s')), 30_000);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      });
    });
    lines.close();
    return new CountingVendor(managed, `http://127.0.0.1:${port}`, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  }

  /** The VENDOR_MODE=http variables of one dispatcher instance, every send attributed to `slot`. */
  dispatcherEnv(channel: Channel, slot: string): Record<string, string> {
    const base = `${this.url}/i/${slot}`;
    switch (channel) {
      case 'PUSH':
        return {
          FCM_BASE_URL: base,
          // The service-account token exchange goes to the fake's token endpoint (not counted as a send).
          FCM_TOKEN_URL: `${this.url}/token`,
          FCM_PROJECT_ID: FCM.projectId,
          FCM_CLIENT_EMAIL: FCM.clientEmail,
          FCM_PRIVATE_KEY: this.privateKeyPem.replace(/\n/g, '\\n'),
        };
      case 'EMAIL':
        return { EMAIL_PROVIDER: 'ses', SES_ENDPOINT: base, SES_REGION: 'us-east-1', SES_ACCESS_KEY_ID: SES.accessKeyId, SES_SECRET_ACCESS_KEY: SES.secretAccessKey, EMAIL_FROM: SES.from };
      case 'SMS':
        return { TWILIO_BASE_URL: base, TWILIO_ACCOUNT_SID: TWILIO.accountSid, TWILIO_AUTH_TOKEN: TWILIO.authToken, TWILIO_FROM: TWILIO.from };
      case 'KAKAO_ALIMTALK':
        return {
          KAKAO_BASE_URL: base,
          KAKAO_SERVICE_ID: KAKAO.serviceId,
          KAKAO_ACCESS_KEY: KAKAO.accessKey,
          KAKAO_SECRET_KEY: KAKAO.secretKey,
          KAKAO_PLUS_FRIEND_ID: KAKAO.plusFriendId,
          KAKAO_TEMPLATE_CODE: KAKAO.templateCode,
        };
    }
  }

  async setOutage(on: boolean): Promise<number> {
    const response = await fetch(`${this.url}/__chaos/outage`, { method: 'POST', body: JSON.stringify({ on }), signal: AbortSignal.timeout(5_000) });
    return ((await response.json()) as { at: number }).at;
  }

  /** When the dispatcher instance `slot` last sent (epoch ms), or null. */
  async lastSend(slot: string): Promise<number | null> {
    const response = await fetch(`${this.url}/__chaos/last-send?slot=${encodeURIComponent(slot)}`, { signal: AbortSignal.timeout(5_000) });
    return ((await response.json()) as { startedAt: number | null }).startedAt;
  }

  async sends(): Promise<SendRecord[]> {
    const response = await fetch(`${this.url}/__chaos/sends`, { signal: AbortSignal.timeout(60_000) });
    return (await response.json()) as SendRecord[];
  }
}

/** push-1, email-2 …: the counting vendor's name for a dispatcher instance. */
export function vendorSlot(channel: Channel, replica: number): string {
  const name = channel === 'KAKAO_ALIMTALK' ? 'kakao' : channel.toLowerCase();
  return `${name}-${replica}`;
}
