/**
 * Keeps signed-URL secrets out of descriptions, error messages and log lines.
 *
 * A snapshot read URL carries its credential in the query string (Azure SAS `sig=`, S3 SigV4
 * presigned `X-Amz-Signature=` / `X-Amz-Credential=` / `X-Amz-Security-Token=`, GCS V4
 * `X-Goog-Signature=`) and sometimes in userinfo. Anyone who can read a log of a scan could
 * replay it, so only scheme, host and path ever leave the code that makes the request.
 *
 * References: WHATWG URL Standard (URL serialising, https://url.spec.whatwg.org/#url-serializing);
 * Azure "Create a service SAS" (sig, se, sp, sv, skoid…); AWS "Authenticating Requests: Using
 * Query Parameters (AWS Signature Version 4)".
 */

const REDACTED = '[REDACTED]';

/** Schemes whose URLs have a host and a path worth showing; anything else is reduced to its scheme. */
const HIERARCHICAL_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:', 'ftp:', 'file:', 's3:', 'gs:', 'az:']);

/** Longest text redactSecrets scans; a longer text is cut first, so the regexes stay cheap. */
const MAX_REDACT_INPUT_CHARS = 64 * 1024;

/**
 * `scheme://host[:port]/path` of a URL: no userinfo, query or fragment. An unparseable string
 * is reduced by hand the same way (never echoed verbatim: it may hold a secret).
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  if (url instanceof URL) {
    parsed = url;
  } else {
    try {
      parsed = new URL(url);
    } catch {
      return redactUnparsedUrl(url);
    }
  }
  if (!HIERARCHICAL_SCHEMES.has(parsed.protocol)) return `${parsed.protocol}${REDACTED}`;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/** For text that does not parse as a URL: drop userinfo, query and fragment by their delimiters. */
function redactUnparsedUrl(text: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)([^?#]*)/i.exec(text);
  if (!scheme) return 'an unparseable URL';
  const authority = scheme[2]!;
  const at = authority.lastIndexOf('@');
  return `${scheme[1]!}//${at >= 0 ? authority.slice(at + 1) : authority}${scheme[3]!}`;
}

/** Anything from a scheme to the next delimiter that cannot appear in a URL inside prose. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s"'<>`]+/gi;

/** A query string outside a full URL ("GET /disk.vhd?sv=…&sig=…"). */
const BARE_QUERY = /\?[^\s"'<>`#?]*=[^\s"'<>`#]*/g;

/**
 * Parameters that are credentials wherever they appear (case-insensitive): Azure SAS, AWS SigV4,
 * GCS V4, OAuth and the usual generic names.
 */
const SECRET_NAMES =
  'sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|awsaccesskeyid|skoid|sktid|sks|skv|ske|skt|sdd|token|sas|access_token|refresh_token|id_token|client_secret|password|passwd|pwd|secret|apikey|api_key|api-key|key';
const SECRET_PARAM = new RegExp(`(^|[?&;\\s"',{(])(${SECRET_NAMES})(\\s*=\\s*)("?)([^&\\s"',;)}]*)`, 'gi');
/** The same names as JSON members: `"sig": "…"`. */
const SECRET_JSON_MEMBER = new RegExp(`"(${SECRET_NAMES})"(\\s*:\\s*)"[^"]*"`, 'gi');

/** Authorization header schemes whose credential follows the scheme name. */
const AUTH_SCHEME = /\b(Bearer|Basic|SharedKey|SharedKeyLite|SharedAccessSignature|AWS4-HMAC-SHA256)\s+[^\s"',;]+/g;

/**
 * Scrubs secrets from arbitrary text (an error message from the network stack, a server's error
 * body): URLs are reduced to scheme://host/path, bare query strings and known secret parameters
 * lose their values, Authorization credentials are dropped.
 */
export function redactSecrets(text: string): string {
  const input = text.length > MAX_REDACT_INPUT_CHARS ? `${text.slice(0, MAX_REDACT_INPUT_CHARS)}…` : text;
  return input
    .replace(URL_IN_TEXT, (match) => redactUrl(match))
    .replace(BARE_QUERY, `?${REDACTED}`)
    .replace(SECRET_PARAM, (_m, lead: string, name: string, sep: string, quote: string) => `${lead}${name}${sep}${quote}${REDACTED}`)
    .replace(SECRET_JSON_MEMBER, (_m, name: string, sep: string) => `"${name}"${sep}"${REDACTED}"`)
    .replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${REDACTED}`);
}

/** Depth of a cause chain copied by redactError; deeper causes are dropped, not followed. */
const MAX_CAUSE_DEPTH = 8;

/**
 * A copy of an error (and its cause chain) whose messages went through redactSecrets. Only
 * name, message and `code` are kept: other own properties of network errors (`input`, `url`,
 * request options) may carry the signed URL.
 */
export function redactError(err: unknown, depth = 0): Error {
  const source = err instanceof Error ? err : new Error(String(err));
  const cause = depth < MAX_CAUSE_DEPTH && source.cause !== undefined ? redactError(source.cause, depth + 1) : undefined;
  const copy = new Error(redactSecrets(source.message), cause === undefined ? undefined : { cause });
  copy.name = source.name;
  const code = (source as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') (copy as { code?: unknown }).code = code;
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}
