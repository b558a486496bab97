// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests that scrape
// /metrics. prom-client writes the format but cannot read it, and node_modules holds no parser, so
// this one is written from the format's description and tested on its own (prom-text.test.ts),
// including the malformed inputs it must refuse. It is stricter than Prometheus on purpose:
//  - the text ends with a newline; lines are `# HELP`, `# TYPE`, other `#` comments, blank, or samples;
//  - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* (not `__` reserved);
//  - label values in double quotes with only \\ \" \n escapes; HELP text with only \\ \n escapes;
//  - values: a float, NaN, +Inf, -Inf; an optional integer timestamp;
//  - at most one HELP and one TYPE per family, both before its first sample; a family's samples
//    are contiguous; no series twice; no label twice in one sample;
//  - counters are not negative or NaN; histograms have `le` buckets (not decreasing, ending with
//    +Inf) whose +Inf bucket equals _count, per label set; a histogram's `le` and a summary's
//    `quantile` are only on its _bucket / plain samples.
export class PromParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'PromParseError';
  }
}

export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface PromFamily {
  name: string;
  help: string | undefined;
  /** undefined: no TYPE line (Prometheus treats the family as untyped). */
  type: PromType | undefined;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<PromType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, line: number, what: string): number {
  // Prometheus reads values with Go's strconv.ParseFloat, which takes NaN and Inf in any case;
  // prom-client writes NaN as "Nan" (a gauge with no sample yet, e.g. on Node 24).
  const l = s.toLowerCase();
  if (l === 'nan') return NaN;
  if (l === '+inf' || l === 'inf') return Infinity;
  if (l === '-inf') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new PromParseError(line, `${what} is not a number: ${JSON.stringify(s)}`);
  return Number(s);
}

function unescapeHelp(s: string, line: number): string {
  return s.replace(/\\(.?)/g, (_m, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new PromParseError(line, `bad escape \\${c} in HELP`);
  });
}

/** Parses `{a="1",b="2"}` starting at s[i] === '{'; returns the labels and the index after '}'. */
function parseLabels(s: string, i: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // '{'
  for (;;) {
    if (s[i] === '}') return { labels, end: i + 1 };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i));
    if (!m) throw new PromParseError(line, `expected a label name at column ${i + 1}`);
    const name = m[0];
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new PromParseError(line, `bad label name ${JSON.stringify(name)}`);
    if (Object.hasOwn(labels, name)) throw new PromParseError(line, `label ${name} given twice`);
    i += name.length;
    if (s[i] !== '=' || s[i + 1] !== '"') throw new PromParseError(line, `expected ="…" after label ${name}`);
    i += 2;
    let v = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new PromParseError(line, `unterminated value of label ${name}`);
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i + 1];
        if (e === '\\') v += '\\';
        else if (e === '"') v += '"';
        else if (e === 'n') v += '\n';
        else throw new PromParseError(line, `bad escape \\${e ?? ''} in label ${name}`);
        i += 2;
        continue;
      }
      v += c;
      i++;
    }
    labels[name] = v;
    i++; // closing quote
    if (s[i] === ',') {
      i++;
      continue; // a trailing comma before '}' is allowed by the format
    }
    if (s[i] !== '}') throw new PromParseError(line, `expected , or } after label ${name}`);
  }
}

/** The family a sample name belongs to, given the declared families' types. */
function familyOf(sample: string, types: Map<string, PromType | undefined>): { family: string; suffix: string } {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const base = sample.slice(0, -suffix.length);
    const t = types.get(base);
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return { family: base, suffix };
  }
  return { family: sample, suffix: '' };
}

export function parsePrometheusText(text: string): Map<string, PromFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new PromParseError(text.split('\n').length, 'the text does not end with a newline');
  const families = new Map<string, PromFamily>();
  const types = new Map<string, PromType | undefined>();
  const seenSeries = new Set<string>();
  /** Families whose samples have started; the current one is the last. */
  const started = new Set<string>();
  let current: string | undefined;
  const lines = text.split('\n');
  lines.pop(); // after the final newline
  const family = (name: string): PromFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, help: undefined, type: undefined, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kw, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new PromParseError(line, `bad metric name ${JSON.stringify(name)}`);
      if (started.has(name)) throw new PromParseError(line, `${kw} for ${name} after its samples`);
      const f = family(name);
      if (kw === 'HELP') {
        if (f.help !== undefined) throw new PromParseError(line, `second HELP for ${name}`);
        f.help = unescapeHelp(rest ?? '', line);
      } else {
        if (f.type !== undefined) throw new PromParseError(line, `second TYPE for ${name}`);
        const t = (rest ?? '').trim();
        if (!TYPES.has(t as PromType)) throw new PromParseError(line, `unknown type ${JSON.stringify(t)} for ${name}`);
        f.type = t as PromType;
        types.set(name, f.type);
      }
      return;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (!nm) throw new PromParseError(line, `not a sample: ${JSON.stringify(raw.slice(0, 80))}`);
    const name = nm[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === '{') ({ labels, end: i } = parseLabels(raw, i, line));
    const rest = raw.slice(i);
    const vm = /^[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*$/.exec(rest);
    if (!vm) throw new PromParseError(line, `expected a value after ${name}`);
    const value = parseValue(vm[1]!, line, 'the value');
    let timestamp: number | undefined;
    if (vm[2] !== undefined) {
      if (!/^-?\d+$/.test(vm[2])) throw new PromParseError(line, `the timestamp is not an integer: ${JSON.stringify(vm[2])}`);
      timestamp = Number(vm[2]);
    }
    const { family: fname, suffix } = familyOf(name, types);
    if (fname !== current) {
      if (started.has(fname)) throw new PromParseError(line, `samples of ${fname} are not together`);
      started.add(fname);
      current = fname;
    }
    const f = family(fname);
    const type = f.type ?? 'untyped';
    if (type === 'histogram' && suffix === '') throw new PromParseError(line, `histogram ${fname} has a plain sample ${name}`);
    if (type === 'histogram' && suffix === '_bucket' && labels['le'] === undefined) throw new PromParseError(line, `bucket of ${fname} without le`);
    if ('le' in labels && !(type === 'histogram' && suffix === '_bucket')) throw new PromParseError(line, `le label outside a histogram bucket (${name})`);
    if ('quantile' in labels && !(type === 'summary' && suffix === '')) throw new PromParseError(line, `quantile label outside a summary (${name})`);
    if (type === 'counter' && (Number.isNaN(value) || value < 0)) throw new PromParseError(line, `counter ${name} is ${vm[1]}`);
    const key = `${name}{${Object.keys(labels)
      .sort()
      .map((k) => `${k}=${JSON.stringify(labels[k])}`)
      .join(',')}}`;
    if (seenSeries.has(key)) throw new PromParseError(line, `series ${key} given twice`);
    seenSeries.add(key);
    f.samples.push({ name, labels, value, ...(timestamp !== undefined ? { timestamp } : {}) });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  const keyOf = (l: Record<string, string>) =>
    JSON.stringify(
      Object.entries(l)
        .filter(([k]) => k !== 'le')
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  for (const s of f.samples) {
    const g = groups.get(keyOf(s.labels)) ?? { buckets: [] };
    groups.set(keyOf(s.labels), g);
    if (s.name.endsWith('_bucket')) g.buckets.push([parseValue(s.labels['le']!, 0, `le of ${f.name}`), s.value]);
    else if (s.name.endsWith('_count')) g.count = s.value;
  }
  for (const [k, g] of groups) {
    if (g.buckets.length === 0) throw new PromParseError(0, `histogram ${f.name}${k} has no buckets`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new PromParseError(0, `histogram ${f.name}${k}: le not increasing`);
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new PromParseError(0, `histogram ${f.name}${k}: buckets not cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1]!;
    if (last[0] !== Infinity) throw new PromParseError(0, `histogram ${f.name}${k} has no +Inf bucket`);
    if (g.count !== undefined && g.count !== last[1])
      throw new PromParseError(0, `histogram ${f.name}${k}: _count ${g.count} is not the +Inf bucket ${last[1]}`);
  }
}

/** The value of one series (labels must match exactly); undefined when absent. */
export function sampleValue(families: Map<string, PromFamily>, family: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
  for (const s of families.get(family)?.samples ?? []) {
    if (s.name === name && JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b))) === want) return s.value;
  }
  return undefined;
}
