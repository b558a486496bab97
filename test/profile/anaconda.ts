// A structural checker for Anaconda kickstart syntax (RHEL 8/9 pykickstart rules), written from
// the kickstart documentation, independent of the renderer under test: command lines before any
// section; every %packages/%pre/%post/%pre-install/%onerror/%traceback/%addon/%anaconda section
// closed by %end before the next one starts; only known options on section headers; %packages
// entries are names, @groups or -removals, without duplicates and sorted. Returns the problems.
const SECTIONS = new Set(['%packages', '%pre', '%post', '%pre-install', '%onerror', '%traceback', '%addon', '%anaconda']);
const SCRIPT_OPTS: Record<string, RegExp> = {
  '%pre': /^(--interpreter(=\S+)?|--erroronfail|--log=\S+)$/,
  '%pre-install': /^(--interpreter(=\S+)?|--erroronfail|--log=\S+)$/,
  '%post': /^(--interpreter(=\S+)?|--erroronfail|--log=\S+|--nochroot)$/,
  '%onerror': /^(--interpreter(=\S+)?|--erroronfail|--log=\S+)$/,
  '%traceback': /^(--interpreter(=\S+)?|--erroronfail|--log=\S+)$/,
  '%packages': /^(--ignoremissing|--nobase|--nocore|--excludedocs|--instLangs=\S*|--multilib|--default|--exclude-weakdeps|--retries=\d+|--timeout=\d+)$/,
};

export function anacondaProblems(ks: string): string[] {
  const problems: string[] = [];
  if (!ks.endsWith('\n')) problems.push('the file does not end with a newline');
  const lines = ks.split('\n');
  let open: { name: string; line: number } | undefined;
  let seenSection = false;
  const pkgs: string[] = [];
  lines.forEach((text, i) => {
    const n = i + 1;
    if (open) {
      if (text === '%end') {
        open = undefined;
        return;
      }
      if (/^%\S/.test(text) && open.name !== '%pre' && open.name !== '%post')
        problems.push(`line ${n}: ${text} inside ${open.name} (opened line ${open.line}) without %end`);
      if (open.name === '%pre' || open.name === '%post') {
        if (/^%(packages|pre|post|pre-install|onerror|traceback|addon|anaconda)\b/.test(text))
          problems.push(`line ${n}: ${text} starts inside ${open.name} (opened line ${open.line}) without %end`);
      }
      if (open.name === '%packages' && text.trim() !== '' && !text.startsWith('#')) {
        if (!/^-?@?[A-Za-z0-9_+.*:-][A-Za-z0-9_+.*: -]*$/.test(text)) problems.push(`line ${n}: not a package entry: ${JSON.stringify(text)}`);
        pkgs.push(text);
      }
      return;
    }
    if (text.trim() === '' || text.startsWith('#')) return;
    const [head, ...opts] = text.split(/\s+/);
    if (head && SECTIONS.has(head)) {
      seenSection = true;
      open = { name: head, line: n };
      const allowed = SCRIPT_OPTS[head];
      if (allowed) {
        for (let k = 0; k < opts.length; k++) {
          const o = opts[k]!;
          if (o === '--interpreter' && opts[k + 1]) {
            k++;
            continue;
          }
          if (!allowed.test(o)) problems.push(`line ${n}: ${head} does not take the option ${o}`);
        }
      }
      return;
    }
    if (text === '%end') problems.push(`line ${n}: %end without an open section`);
    else if (seenSection) problems.push(`line ${n}: command ${JSON.stringify(text)} after the first section`);
    else if (!/^[a-z][a-z0-9_-]*( .*)?$/.test(text)) problems.push(`line ${n}: not a kickstart command: ${JSON.stringify(text)}`);
  });
  if (open) problems.push(`${open.name} opened on line ${open.line} is not closed with %end`);
  const key = (p: string) => p.replace(/^-?@?/, '');
  for (let i = 1; i < pkgs.length; i++) {
    if (key(pkgs[i - 1]!) > key(pkgs[i]!)) problems.push(`%packages not sorted: ${pkgs[i - 1]} before ${pkgs[i]}`);
  }
  if (new Set(pkgs).size !== pkgs.length) problems.push('%packages has duplicates');
  return problems;
}
