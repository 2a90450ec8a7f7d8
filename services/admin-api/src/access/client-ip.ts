/**
 * The caller's IP for rate limiting. With no trusted proxy the socket address is the client,
 * whatever X-Forwarded-For says (anyone can send that header). Each trusted proxy appends the
 * address it saw, so with `trustedHops` proxies the client is the `trustedHops`-th entry from
 * the right; entries further left were written by the caller and are ignored.
 */
export function clientIp(socketAddress: string | undefined, forwardedFor: string | undefined, trustedHops: number): string {
  const socket = normalize(socketAddress ?? 'unknown');
  if (trustedHops === 0 || !forwardedFor) return socket;
  const chain = forwardedFor
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (chain.length === 0) return socket;
  return normalize(chain[Math.max(chain.length - trustedHops, 0)] ?? socket);
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same caller. */
function normalize(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip;
}
