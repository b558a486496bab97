// The test parser of the Prometheus text format (prom-text.ts) on its own: what it reads, and
// the malformed inputs it refuses (each with the line it names). Fixtures are written by hand,
// not by prom-client, so the parser is not checked against the writer it is meant to check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheusText, sampleValue, PromParseError } from './prom-text.js';

const GOOD = [
  '# HELP x_requests_total Requests, with a \\\\ backslash and a \\n newline.',
  '# TYPE x_requests_total counter',
  'x_requests_total{method="GET",route="/a/:b"} 3',
  'x_requests_total{method="POST",route="q\\"uote\\\\d\\n",} 1e3 1700000000000',
  '',
  '# a plain comment',
  '# HELP x_up Up.',
  '# TYPE x_up gauge',
  'x_up -1.5',
  '# TYPE x_lat_seconds histogram',
  'x_lat_seconds_bucket{le="0.1",route="/"} 1',
  'x_lat_seconds_bucket{le="1",route="/"} 2',
  'x_lat_seconds_bucket{le="+Inf",route="/"} 3',
  'x_lat_seconds_sum{route="/"} 2.25',
  'x_lat_seconds_count{route="/"} 3',
  '# TYPE x_q summary',
  'x_q{quantile="0.5"} NaN',
  'x_q_sum 0',
  'x_q_count 0',
  'untyped_thing +Inf',
  '',
].join('\n');

test('reads HELP (unescaped), TYPE, labels (unescaped, trailing comma), values, timestamps and histogram/summary samples', () => {
  const f = parsePrometheusText(GOOD);
  assert.deepEqual([...f.keys()], ['x_requests_total', 'x_up', 'x_lat_seconds', 'x_q', 'untyped_thing']);
  assert.equal(f.get('x_requests_total')!.help, 'Requests, with a \\ backslash and a \n newline.');
  assert.equal(f.get('x_requests_total')!.type, 'counter');
  assert.equal(sampleValue(f, 'x_requests_total', 'x_requests_total', { method: 'GET', route: '/a/:b' }), 3);
  const post = f.get('x_requests_total')!.samples[1]!;
  assert.deepEqual(post, { name: 'x_requests_total', labels: { method: 'POST', route: 'q"uote\\d\n' }, value: 1000, timestamp: 1700000000000 });
  assert.equal(sampleValue(f, 'x_up', 'x_up'), -1.5);
  assert.equal(f.get('x_lat_seconds')!.type, 'histogram');
  assert.equal(f.get('x_lat_seconds')!.samples.length, 5);
  assert.equal(sampleValue(f, 'x_lat_seconds', 'x_lat_seconds_count', { route: '/' }), 3);
  assert.ok(Number.isNaN(sampleValue(f, 'x_q', 'x_q', { quantile: '0.5' })));
  assert.equal(f.get('untyped_thing')!.type, undefined);
  assert.equal(f.get('untyped_thing')!.help, undefined);
  assert.equal(sampleValue(f, 'untyped_thing', 'untyped_thing'), Infinity);
  assert.equal(sampleValue(f, 'x_up', 'x_up', { a: 'b' }), undefined, 'labels must match exactly');
  assert.equal(parsePrometheusText('').size, 0);
});

const BAD: Array<[string, string, RegExp]> = [
  ['no final newline', 'a 1', /does not end with a newline/],
  ['garbage line', 'a 1\n{b="c"} 2\n', /line 2: not a sample/],
  ['no value', 'a\n', /expected a value/],
  ['value not a number', 'a one\n', /not a number/],
  ['value with a unit', 'a 1s\n', /not a number/],
  ['three fields', 'a 1 2 3\n', /expected a value/],
  ['timestamp not an integer', 'a 1 2.5\n', /timestamp/],
  ['unterminated label value', 'a{b="c} 1\n', /unterminated/],
  ['unquoted label value', 'a{b=c} 1\n', /expected ="…"/],
  ['bad escape in a label value', 'a{b="\\t"} 1\n', /bad escape/],
  ['bad escape in HELP', '# HELP a x\\t\na 1\n', /bad escape/],
  ['label name with a dash', 'a{b-c="1"} 1\n', /expected ="…" after label b/],
  ['reserved label name', 'a{__name__="x"} 1\n', /bad label name/],
  ['label twice', 'a{b="1",b="2"} 1\n', /label b given twice/],
  ['missing comma', 'a{b="1" c="2"} 1\n', /expected , or }/],
  ['bad metric name in TYPE', '# TYPE 1a counter\n', /bad metric name/],
  ['unknown type', '# TYPE a countr\na 1\n', /unknown type "countr"/],
  ['second TYPE', '# TYPE a counter\n# TYPE a counter\na 1\n', /line 2: second TYPE/],
  ['second HELP', '# HELP a x\n# HELP a y\na 1\n', /second HELP/],
  ['TYPE after the samples', 'a 1\n# TYPE a counter\n', /TYPE for a after its samples/],
  ['HELP after the samples', 'a 1\n# HELP a x\n', /HELP for a after its samples/],
  ['family split in two', 'a{x="1"} 1\nb 1\na{x="2"} 1\n', /line 3: samples of a are not together/],
  ['series twice', 'a{x="1",y="2"} 1\na{y="2",x="1"} 2\n', /given twice/],
  ['negative counter', '# TYPE a counter\na -1\n', /counter a is -1/],
  ['NaN counter', '# TYPE a counter\na NaN\n', /counter a is NaN/],
  ['histogram plain sample', '# TYPE h histogram\nh 1\n', /plain sample/],
  ['bucket without le', '# TYPE h histogram\nh_bucket 1\n', /without le/],
  ['le outside a histogram', 'a{le="1"} 1\n', /le label outside/],
  ['quantile outside a summary', '# TYPE a gauge\na{quantile="0.5"} 1\n', /quantile label outside/],
  ['histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n', /no \+Inf bucket/],
  ['buckets not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n', /not cumulative/],
  ['le not increasing', '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\n', /le not increasing/],
  ['count is not the +Inf bucket', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\n', /_count 3 is not the \+Inf bucket 2/],
];

for (const [what, text, message] of BAD) {
  test(`refuses: ${what}`, () => {
    assert.throws(
      () => parsePrometheusText(text),
      (e: unknown) => e instanceof PromParseError && message.test(e.message),
    );
  });
}
