/**
 * A Vite plugin that puts the app's Content-Security-Policy into every page it builds or serves, as the
 * first element of `<head>`, from the one table (common/security-policy.mjs): the pages themselves carry no
 * copy, so the Electron build, the browser build and the engine test page cannot drift apart.
 */
import type { Plugin } from 'vite';
import { CONTENT_SECURITY_POLICY_META } from '../common/security-policy.mjs';

/** The plugin; refuses a page that brings a CSP `<meta>` of its own (there must be one policy). */
export function cspMeta(): Plugin {
  return {
    name: 'feature-map-explorer:csp-meta',
    transformIndexHtml: {
      order: 'pre',
      handler(html, ctx) {
        if (/http-equiv=["']Content-Security-Policy["']/i.test(html))
          throw new Error(
            `${ctx.filename}: has a Content-Security-Policy <meta> of its own; the policy comes from common/security-policy.mjs`,
          );
        return [
          {
            tag: 'meta',
            attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY_META },
            injectTo: 'head-prepend',
          },
        ];
      },
    },
  };
}
