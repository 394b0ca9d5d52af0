import { describe, expect, it } from 'vitest';
import { meetsMinimumRedis, redisVersionOf, withoutCredentials } from '../../core/redis.js';

describe('the Redis version the projection needs', () => {
  it('reads redis_version from INFO server', () => {
    expect(redisVersionOf('# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n')).toBe('7.0.15');
    expect(redisVersionOf('# Server\r\nredis_mode:standalone\r\n')).toBeNull();
  });

  it('takes 7.0 and later (EXPIREAT NX and GT), refuses 6.x', () => {
    expect(meetsMinimumRedis('7.0.0')).toBe(true);
    expect(meetsMinimumRedis('7.2.4')).toBe(true);
    expect(meetsMinimumRedis('8.0.1')).toBe(true);
    expect(meetsMinimumRedis('6.2.14')).toBe(false);
    expect(meetsMinimumRedis('garbage')).toBe(false);
  });

  it('names the server in messages without its credentials', () => {
    expect(withoutCredentials('redis://user:secret@cache.example:6380/2')).toBe('redis://cache.example:6380/2');
    expect(withoutCredentials('not a url')).toBe('(REDIS_URL)');
  });
});
