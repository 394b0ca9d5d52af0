import { describe, expect, it } from 'vitest';
import { parseWrkOutput, wrkScript } from '../../bench/wrk-output.js';

const OUTPUT = `Running 10s test @ http://127.0.0.1:40000
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms  402.00us  12.31ms   90.00%
    Req/Sec    23.50k     1.20k   25.10k    70.00%
  Latency Distribution
     50%    1.98ms
     75%    2.20ms
     90%  850.50us
     99%    7.61ms
  233870 requests in 10.00s, 60.21MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  23386.51
Transfer/sec:      6.02MB
`;

describe('parseWrkOutput', () => {
  it('reads totals, rate, latency percentiles in ms and errors', () => {
    expect(parseWrkOutput(OUTPUT)).toEqual({
      requests: 233870,
      elapsedSeconds: 10,
      requestsPerSecond: 23386.51,
      latencyMs: { p50: 1.98, p75: 2.2, p90: 0.8505, p99: 7.61 },
      non2xx3xx: 3,
      socketErrors: 3,
    });
  });

  it('refuses output without totals', () => {
    expect(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(/no totals/);
  });

  it('writes a script that sends the paths round robin with the headers', () => {
    const script = wrkScript(['/t/o/a', '/t/o/b'], { 'user-agent': 'bench' });
    expect(script).toContain('wrk.headers["user-agent"] = "bench"');
    expect(script).toContain('"/t/o/a",\n  "/t/o/b"');
    expect(script).toContain('paths[(i % #paths) + 1]');
  });
});
