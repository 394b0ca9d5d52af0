/**
 * The Location for a verified click: exactly the URL that was signed, so the user lands where
 * the sender meant. Only http(s) ever leaves here (the token is authentic, but this is the last
 * line against an open redirect); a URL with characters a header can't carry is sent in its
 * percent-encoded form. Pure.
 */
export function redirectLocation(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  return /^[\x21-\x7e]+$/.test(url) ? url : parsed.href;
}
