// The `pretty` log format: one line per record, the shape operators and the e2e tests grep:
//   2026-12-05T04:30:08.409Z INFO tftp sent file="ipxe.efi" ip="10.1.255.254" bytes=1024
// ISO time, the level in capitals, the message, then each field as key=<JSON value> in the order
// the record has them (child bindings first).

/** One pino JSON record (`{"level":"info","time":"<ISO>","msg":...,<fields>}`) as a pretty line. */
export function prettyLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const { level, time, msg, ...fields } = rec;
  const kv = Object.entries(fields)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  return `${String(time)} ${String(level).toUpperCase()} ${String(msg ?? '')}${kv ? ' ' + kv : ''}`;
}
