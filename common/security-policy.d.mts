/** Types of security-policy.mjs (the one table of the app's web security policy; see there). */
export declare const CONTENT_SECURITY_POLICY: string;
export declare const CONTENT_SECURITY_POLICY_META: string;
export declare const SECURITY_HEADERS: Readonly<{
  'X-Content-Type-Options': string;
  'Cross-Origin-Opener-Policy': string;
  'Cross-Origin-Embedder-Policy': string;
  'Cross-Origin-Resource-Policy': string;
  'Content-Security-Policy': string;
  'Cache-Control': string;
}>;
export declare const MIME_TYPES: Readonly<Record<string, string>>;
export declare function mimeTypeFor(fileName: string): string;
