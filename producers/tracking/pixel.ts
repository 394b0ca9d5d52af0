/** The smallest transparent 1×1 GIF (43 bytes), answered by the open pixel whatever happens. */
export const TRANSPARENT_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Proxies and clients must fetch the pixel on every open, or opens go uncounted. */
export const NO_CACHE_HEADERS = {
  'cache-control': 'no-cache, no-store, must-revalidate, private, max-age=0',
  pragma: 'no-cache',
  expires: '0',
} as const;
