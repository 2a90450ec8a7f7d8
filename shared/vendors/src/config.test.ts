import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { requiredVendorVariables, vendorEnv } from './config.ts';

const parse = (env: Record<string, string>) => z.object(vendorEnv).safeParse({ VENDOR_MODE: 'http', ...env });
const required = (channel: 'PUSH' | 'KAKAO_ALIMTALK', env: Record<string, string>) => requiredVendorVariables(channel, parse(env).data!);
const keyJson = (fields: Record<string, string>) => JSON.stringify({ type: 'service_account', ...fields });

describe('FCM variables', () => {
  it('needs only the project id without a key: application default credentials', () => {
    expect(required('PUSH', {})).toEqual(['FCM_PROJECT_ID']);
  });

  it('takes the project id from FCM_SERVICE_ACCOUNT_JSON', () => {
    expect(required('PUSH', { FCM_SERVICE_ACCOUNT_JSON: keyJson({ project_id: 'p', client_email: 'a@p.iam.gserviceaccount.com', private_key: 'k' }) })).toEqual([]);
  });

  it('needs both halves of a key given as two variables', () => {
    expect(required('PUSH', { FCM_PROJECT_ID: 'p', FCM_CLIENT_EMAIL: 'a@p.iam.gserviceaccount.com' })).toEqual(['FCM_PROJECT_ID', 'FCM_CLIENT_EMAIL', 'FCM_PRIVATE_KEY']);
  });

  it('refuses an FCM_SERVICE_ACCOUNT_JSON that is not a service-account key', () => {
    for (const value of ['not json', keyJson({ client_email: 'a@p.iam.gserviceaccount.com' }), '[]']) {
      const result = parse({ FCM_SERVICE_ACCOUNT_JSON: value });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(['FCM_SERVICE_ACCOUNT_JSON']);
    }
  });

  it('defaults the time to live to an hour and caps it at 28 days', () => {
    expect(parse({}).data?.FCM_TTL_SECONDS).toBe(3_600);
    expect(parse({ FCM_TTL_SECONDS: '2419201' }).success).toBe(false);
  });
});

describe('Kakao variables', () => {
  it('no longer needs KAKAO_TEMPLATE_CODE: each template carries its code', () => {
    expect(required('KAKAO_ALIMTALK', {})).toEqual(['KAKAO_SERVICE_ID', 'KAKAO_ACCESS_KEY', 'KAKAO_SECRET_KEY', 'KAKAO_PLUS_FRIEND_ID']);
  });
});
