import express, { Router, type Request } from 'express';
import { parseInput } from '@hub/http';
import type { Deps } from '../deps.ts';
import { unsubscribeParams } from '../schemas.ts';
import { checkUnsubscribeLink, invalidOneClickBody, unsubscribe } from '../usecases/unsubscribe.ts';

// A page with no script, no external resource, posting only back to itself.
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

function page(title: string, content: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font-size:1rem;padding:.5rem 1rem}</style>
</head><body><h1>${title}</h1>${content}</body></html>
`;
}

/**
 * RFC 8058 asks for `List-Unsubscribe=One-Click` as a form field, url-encoded or multipart; our
 * own confirmation page posts the url-encoded form.
 */
function isOneClick(req: Request): boolean {
  const body = typeof req.body === 'string' ? req.body : '';
  const type = req.get('content-type') ?? '';
  if (type.startsWith('multipart/form-data')) return /name="?List-Unsubscribe"?\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/.test(body);
  return new URLSearchParams(body).get('List-Unsubscribe') === 'One-Click';
}

/**
 * One-click unsubscribe of MARKETING mail (`List-Unsubscribe` links). Mounted before caller
 * authentication: the link proves itself by its signature, and a mail client has no token.
 * GET only shows a page whose button POSTs: mail scanners and link previews fetch every GET,
 * and must not opt anyone out.
 */
export function unsubscribeRoutes(deps: Deps): Router {
  const router = Router();
  const form = express.text({ type: () => true, limit: 4_096 });
  router.get('/unsubscribe/:token', (req, res) => {
    const { token } = parseInput(unsubscribeParams, req.params, 'params');
    checkUnsubscribeLink(deps, token);
    res
      .set(PAGE_HEADERS)
      .type('html')
      .send(
        page(
          'Unsubscribe from marketing messages?',
          `<p>You will stop receiving marketing messages from us. Security and account messages still reach you.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
        ),
      );
  });
  router.post('/unsubscribe/:token', form, async (req, res) => {
    const { token } = parseInput(unsubscribeParams, req.params, 'params');
    // The link first: a forged one is 401 whatever its body says.
    checkUnsubscribeLink(deps, token);
    if (!isOneClick(req)) throw invalidOneClickBody();
    const result = await unsubscribe(deps, { token });
    if (req.accepts(['json', 'html']) === 'html') {
      res.set(PAGE_HEADERS).type('html').send(page('You are unsubscribed', '<p>You will no longer receive marketing messages from us.</p>'));
      return;
    }
    res.json(result);
  });
  return router;
}
