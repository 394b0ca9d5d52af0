import { EngagementError } from '../core/errors.js';

/** A small JSON client for the engagement API, with errors that say which call failed. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      throw new EngagementError('kafka_unavailable', `cannot reach the engagement service at ${this.baseUrl} (start it with \`npm start\`)`, {
        cause,
        retriable: true,
      });
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as T);
    return { status: response.status, body: parsed as T };
  }

  async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const result = await this.call<T>(method, path, body);
    if (result.status >= 300) {
      throw new EngagementError('internal', `${method} ${path} answered ${result.status}: ${JSON.stringify(result.body)}`);
    }
    return result.body;
  }
}

/** Hits a public tracking URL the way a mail client or a scanner would. */
export async function track(url: string, options: { userAgent: string; method?: 'GET' | 'HEAD' }): Promise<number> {
  const response = await fetch(url, { method: options.method ?? 'GET', redirect: 'manual', headers: { 'user-agent': options.userAgent } });
  await response.arrayBuffer();
  return response.status;
}
