import { describe, expect, it } from 'vitest';
import { sensRecipient, sensSignature } from './kakao.ts';

describe('sensRecipient', () => {
  it('sends a Korean mobile number in its national form with the trunk 0', () => {
    expect(sensRecipient('+821012345678')).toEqual({ countryCode: '82', to: '01012345678' });
  });

  it.each([
    ['+447911123456', '44', '7911123456'],
    ['+819012345678', '81', '9012345678'],
    ['+14155552671', '1', '4155552671'],
    ['+6591234567', '65', '91234567'],
  ])('takes the country code of %s from the number itself', (address, countryCode, to) => {
    expect(sensRecipient(address)).toEqual({ countryCode, to });
  });

  it.each(['+8212', '+4479', '01012345678', 'not-a-number', '', '+999123456789'])('rejects %j', (address) => {
    expect(sensRecipient(address)).toBeUndefined();
  });
});

describe('sensSignature', () => {
  it('is the base64 HMAC-SHA256 of "METHOD url\\ntimestamp\\naccessKey" under the secret key', () => {
    // Computed independently: printf 'POST /alimtalk/v2/services/s/messages\n1700000000000\nak' | openssl dgst -sha256 -hmac sk -binary | base64
    expect(sensSignature({ method: 'POST', url: '/alimtalk/v2/services/s/messages', timestamp: '1700000000000', accessKey: 'ak', secretKey: 'sk' })).toBe(
      'olDzulAItiHdXFS5wmnq27XhTT2LlLrQdB08+NLOEII=',
    );
  });
});
