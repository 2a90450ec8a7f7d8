import type { Channel } from './channels.ts';

/**
 * How an address leaves the database (logs, admin views): `TYPE:` + first 2 chars + `***` +
 * last 2 chars; 4 chars or fewer become `****` (SPEC §2).
 */
export function maskAddress(channel: Channel, address: string): string {
  const value = address.trim();
  const masked = value.length <= 4 ? '****' : `${value.slice(0, 2)}***${value.slice(-2)}`;
  return `${channel}:${masked}`;
}
