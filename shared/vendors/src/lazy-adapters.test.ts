import { describe, expect, it, vi } from 'vitest';
import { createVendorSender, vendorEnv } from './index.ts';
import { z } from 'zod';

// Every vendor SDK records when it is loaded (the real module is still what the importer gets).
const loaded = vi.hoisted(() => new Set<string>());
vi.mock('google-auth-library', async (importOriginal) => (loaded.add('google-auth-library'), importOriginal()));
vi.mock('@aws-sdk/client-sesv2', async (importOriginal) => (loaded.add('@aws-sdk/client-sesv2'), importOriginal()));
vi.mock('nodemailer', async (importOriginal) => (loaded.add('nodemailer'), importOriginal()));
vi.mock('libphonenumber-js', async (importOriginal) => (loaded.add('libphonenumber-js'), importOriginal()));

const config = (env: Record<string, string>) => z.object(vendorEnv).parse(env);

describe('createVendorSender', () => {
  // Runs first: the test below loads adapters on purpose.
  it('loads no vendor SDK for the index or a mock-mode sender', async () => {
    const sender = await createVendorSender('PUSH', config({}));
    expect(sender.name).toMatch(/mock/);
    expect([...loaded]).toEqual([]);
  });

  it('loads only the configured adapter', async () => {
    await createVendorSender('EMAIL', config({ VENDOR_MODE: 'http', EMAIL_PROVIDER: 'smtp', SMTP_URL: 'smtp://127.0.0.1:2525', EMAIL_FROM: 'hub@example.com' }));
    expect([...loaded]).toEqual(['nodemailer']);
  });
});
