// A kickstart grammar of our own for the commands and sections netroot emits, per Anaconda version
// (RHEL8, RHEL9, RHEL10 and F45, the newest Fedora pykickstart 3.74 knows), written from
// pykickstart's documented syntax. Read (not copied): pykickstart/parser.py (_stateMachine and
// _readSection: lines by str.splitlines, command lines by shlex.split(line, comments=True),
// section boundaries, "Section %x does not end with %end"), pykickstart/sections.py
// (PackageSection._getParser, ScriptSection._getParser, PostScriptSection), pykickstart/options.py
// (deprecated options warn), pykickstart/handlers/{rhel8,rhel9,rhel10,f45}.py (the command class
// per version) and pykickstart/commands/{displaymode,lang,keyboard,timezone,rootpw,network,selinux,
// firewall,url,liveimg,reboot,iscsiname,iscsi,ignoredisk,zerombr,clearpart,partition,bootloader,
// autopart,authconfig,install}.py.
// Contract: kickstartProblems(text, version) lists every problem as "line N: <command> [<option>]:
// <what>", [] when valid. "deprecated" counts as a problem (pykickstart raises a
// KickstartDeprecationWarning, which ksvalidator reports as an error). Stricter than pykickstart on
// purpose: exact option names (no argparse abbreviations), an empty `--opt=` value is missing,
// a %packages entry is one word (groups may have spaces), and a command or section not in this
// table is unknown here even where pykickstart has it.
export const VERSIONS = ['RHEL8', 'RHEL9', 'RHEL10', 'F45'] as const;
export type Version = (typeof VERSIONS)[number];
type Status = 'deprecated' | 'removed' | 'absent';

interface Opt {
  names: string[];
  value: boolean;
  required: boolean;
  int: boolean;
  choices?: string[];
  status: Partial<Record<Version, Status>>;
}
interface Spec {
  opts: Opt[];
  args: [number, number];
  status: Partial<Record<Version, Status>>;
  anyArgs?: boolean;
  rule?: (o: Set<string>, args: string[]) => string | undefined;
}

// Option notation: --a|--alias (a flag), --a= (takes a value), ! required, :int, =[x|y] choices,
// {RHEL9:deprecated,RHEL10:removed} per-version status ("absent": not yet in that version).
function opts(spec: string): Opt[] {
  return spec
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => {
      const m = /^([-|a-zA-Z0-9]+)(=)?(\[[^\]]*\])?(:int)?(!)?(\{[^}]*\})?$/.exec(s);
      if (!m) throw new Error(`bad option spec ${s}`);
      const status = Object.fromEntries(
        (m[6] ?? '')
          .slice(1, -1)
          .split(',')
          .filter(Boolean)
          .map((kv) => kv.split(':')),
      );
      return { names: m[1]!.split('|'), value: m[2] === '=', required: m[5] === '!', int: m[4] !== undefined, choices: m[3]?.slice(1, -1).split('|'), status };
    });
}
const GONE = '{RHEL8:removed,RHEL9:removed,RHEL10:removed,F45:removed}'; // removed before RHEL8 (%packages --nobase: F22)
const LATER = '{RHEL9:deprecated,RHEL10:removed,F45:deprecated}'; // timezone/%packages spellings retired after RHEL8
const cmd = (o: string, args: [number, number] = [0, 0], extra: Partial<Spec> = {}): Spec => ({ opts: opts(o), args, status: {}, ...extra });
const has = (o: Set<string>, ...names: string[]) => names.filter((n) => o.has(n)).length;
const LUKS = '--luks-version= --pbkdf= --pbkdf-memory=:int --pbkdf-time=:int --pbkdf-iterations=:int --hw-passphrase={RHEL8:absent,RHEL9:absent,RHEL10:absent}';

export const COMMANDS: Record<string, Spec> = {
  text: cmd('--non-interactive'),
  lang: cmd('--addsupport=', [1, 1]),
  keyboard: cmd('--vckeymap= --xlayouts= --switch=', [0, 1], {
    rule: (o, a) => (a.length || has(o, '--vckeymap', '--xlayouts') ? undefined : 'needs a layout argument, --vckeymap or --xlayouts'),
  }),
  timezone: cmd(`--utc --isUtc${LATER} --nontp${LATER} --ntpservers=${LATER}`, [0, 1], {
    rule: (o, a) => (a.length || o.size ? undefined : 'needs a time zone or an option'),
  }),
  rootpw: cmd('--iscrypted --plaintext --lock --allow-ssh{RHEL8:absent}', [0, 1], {
    rule: (o, a) => (a.length || o.has('--lock') ? undefined : 'needs a password or --lock'),
  }),
  network: cmd(`--bootproto=[dhcp|bootp|static|query|ibft] --dhcpclass= --device= --essid= --ethtool= --gateway= --hostname= --ip= --mtu= --nameserver=
    --netmask= --nodns --onboot= --wepkey= --notksdevice --noipv4 --noipv6 --ipv6= --activate --no-activate --nodefroute --wpakey= --bondslaves= --bondopts=
    --vlanid= --ipv6gateway= --teamslaves={RHEL10:deprecated} --teamconfig={RHEL10:deprecated} --interfacename= --bridgeslaves= --bridgeopts= --bindto=[mac]
    --ipv4-dns-search={RHEL8:absent} --ipv6-dns-search={RHEL8:absent} --ipv4-ignore-auto-dns{RHEL8:absent} --ipv6-ignore-auto-dns{RHEL8:absent}`),
  selinux: cmd('--disabled --enforcing --permissive'),
  firewall: cmd('--disabled|--disable --enabled|--enable --port= --trust= --service= --remove-service= --ftp --http --smtp --ssh --use-system-defaults'),
  url: cmd('--url= --mirrorlist= --metalink= --proxy= --noverifyssl --sslcacert= --sslclientcert= --sslclientkey=', [0, 0], {
    rule: (o) => (has(o, '--url', '--mirrorlist', '--metalink') === 1 ? undefined : 'needs exactly one of --url, --mirrorlist, --metalink'),
  }),
  liveimg: cmd('--url=! --proxy= --noverifyssl --checksum='),
  reboot: cmd('--eject --kexec'),
  iscsiname: cmd('', [1, 1]),
  iscsi: cmd('--ipaddr=! --target= --port=:int --user= --password= --reverse-user= --reverse-password= --iface='),
  ignoredisk: cmd('--drives= --only-use= --interactive{RHEL8:deprecated,RHEL9:removed,RHEL10:removed,F45:removed}', [0, 0], {
    rule: (o) => (has(o, '--drives', '--only-use') === 1 ? undefined : 'needs exactly one of --drives, --only-use'),
  }),
  zerombr: cmd(''),
  clearpart: cmd('--all --initlabel --linux --none --disklabel= --drives= --list= --cdl'),
  autopart:
    cmd(`--type=[lvm|plain|partition|thinp|btrfs] --fstype= --nolvm --encrypted --passphrase= --escrowcert= --backuppassphrase --cipher= --nohome --noboot --noswap
    --hibernation{RHEL8:absent,RHEL9:absent} ${LUKS}`),
  part: cmd(
    `--asprimary --fstype|--type= --grow --maxsize=:int --noformat --onbiosdisk= --ondisk|--ondrive= --onpart|--usepart= --recommended --size=:int
    --fsoptions= --label= --fsprofile= --mkfsoptions= --encrypted --passphrase= --escrowcert= --backuppassphrase --cipher= --resize --hibernation
    --active{RHEL8:deprecated,RHEL9:removed,RHEL10:removed,F45:removed} ${LUKS}`,
    [1, 1],
  ),
  bootloader: cmd(`--append= --location=[mbr|partition|none|boot] --password= --iscrypted --md5pass= --driveorder= --timeout=:int --default= --boot-drive=
    --leavebootorder --extlinux --sdboot{RHEL8:absent,RHEL9:absent} --disabled --nombr --upgrade{RHEL8:deprecated,RHEL9:removed,RHEL10:removed,F45:removed}`),
  auth: cmd('', [0, 0], { anyArgs: true, status: { RHEL8: 'deprecated', RHEL9: 'deprecated', RHEL10: 'removed', F45: 'removed' } }),
  install: cmd('', [0, 0], { status: { RHEL8: 'deprecated', RHEL9: 'removed', RHEL10: 'removed', F45: 'removed' } }),
};
COMMANDS['partition'] = COMMANDS['part']!;
COMMANDS['authconfig'] = COMMANDS['auth']!;

const SCRIPT = '--erroronfail --interpreter= --log|--logfile=';
export const SECTIONS: Record<string, Spec & { script: boolean }> = {
  '%packages': {
    ...cmd(`--excludedocs --ignoremissing --default --multilib --nocore --timeout=:int --retries=:int --instLangs=${LATER} --excludeWeakdeps${LATER}
    --inst-langs={RHEL8:absent} --exclude-weakdeps{RHEL8:absent} --ignorebroken{RHEL8:absent,RHEL9:absent,RHEL10:absent} --nobase${GONE}`),
    script: false,
  },
  '%pre': { ...cmd(SCRIPT), script: true },
  '%pre-install': { ...cmd(SCRIPT), script: true },
  '%post': { ...cmd(`${SCRIPT} --nochroot`), script: true },
  '%onerror': { ...cmd(SCRIPT), script: true },
  '%addon': { ...cmd('', [0, 0], { anyArgs: true }), script: true },
  '%anaconda': { ...cmd('', [0, 0], { anyArgs: true }), script: true },
};

/** Python's str.splitlines (keepends=False). */
export const splitLines = (s: string) =>
  s.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/).slice(0, s.match(/(\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])$/) ? -1 : undefined);

/** shlex.split(line, comments) in POSIX mode: words split at space, tab, CR, LF; quotes; backslash escapes; '#' starts a comment. */
export function shlexSplit(line: string, comments: boolean): string[] {
  const out: string[] = [];
  let tok = '';
  let inTok = false;
  let q = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q === "'") {
      if (c === q) q = '';
      else tok += c;
    } else if (q === '"') {
      if (c === q) q = '';
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) tok += line[++i]!;
      else tok += c;
    } else if (' \t\r\n'.includes(c)) {
      if (inTok) out.push(tok);
      [tok, inTok] = ['', false];
    } else if (comments && c === '#') break;
    else {
      inTok = true;
      if (c === "'" || c === '"') q = c;
      else tok += c === '\\' ? (line[++i] ?? '') : c;
    }
  }
  if (q) throw new Error('No closing quotation');
  if (inTok) out.push(tok);
  return out;
}

/** Problems of one command or section header (tokens after the name). */
function argProblems(name: string, spec: Spec, words: string[], v: Version): string[] {
  const p: string[] = [];
  const st = spec.status[v];
  if (st === 'removed' || st === 'absent') return [`${name}: ${st === 'removed' ? 'removed in' : 'not known to'} ${v}`];
  if (st === 'deprecated') p.push(`${name}: deprecated in ${v}`);
  if (spec.anyArgs) return p;
  const seen = new Set<string>();
  const args: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('-') || w === '-') {
      args.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    const flag = eq < 0 ? w : w.slice(0, eq);
    const o = spec.opts.find((x) => x.names.includes(flag));
    const s = o?.status[v];
    if (!o || s === 'absent') {
      p.push(`${name} ${flag}: unknown option${o ? ` in ${v}` : ''}`);
      continue;
    }
    if (s) p.push(`${name} ${flag}: ${s} in ${v}`);
    seen.add(o.names[0]!);
    if (!o.value) {
      if (eq >= 0) p.push(`${name} ${flag}: takes no value`);
      continue;
    }
    let val = eq >= 0 ? w.slice(eq + 1) : undefined;
    if (val === undefined && i + 1 < words.length && !words[i + 1]!.startsWith('-')) val = words[++i];
    if (val === undefined || val === '') p.push(`${name} ${flag}: missing value`);
    else if (o.int && !/^-?[0-9]+$/.test(val)) p.push(`${name} ${flag}: ${JSON.stringify(val)} is not an integer`);
    else if (o.choices && !o.choices.includes(val)) p.push(`${name} ${flag}: ${JSON.stringify(val)} is not one of ${o.choices.join(', ')}`);
  }
  for (const o of spec.opts) if (o.required && !seen.has(o.names[0]!)) p.push(`${name} ${o.names[0]}: missing required option`);
  if (args.length < spec.args[0]) p.push(`${name}: missing required argument`);
  if (args.length > spec.args[1]) p.push(`${name}: unexpected argument ${JSON.stringify(args[spec.args[1]])}`);
  const r = spec.rule?.(seen, args);
  if (r) p.push(`${name}: ${r}`);
  return p;
}

/** Every problem of a kickstart for one version, as "line N: <command> [<option>]: <what>". */
export function kickstartProblems(ks: string, v: Version): string[] {
  const out: string[] = [];
  const lines = splitLines(ks);
  const at = (n: number, msgs: string[]) => out.push(...msgs.map((m) => `line ${n}: ${m}`));
  const boundary = (line: string) => {
    if (!line.trimStart().startsWith('%')) return undefined;
    const first = line.trim().split(/\s+/)[0]!;
    return first === '%end' || first === '%include' || SECTIONS[first] ? first : undefined;
  };
  const seen = new Map<string, number>();
  const mounts = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const n = i + 1;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    let words: string[];
    try {
      words = shlexSplit(line, true);
    } catch (e) {
      at(n, [`${(e as Error).message}`]);
      continue;
    }
    const name = words[0];
    if (name === undefined) continue;
    if (name.startsWith('%')) {
      const sec = SECTIONS[name];
      if (!sec) {
        at(n, [`${name}: unknown section`]);
        continue;
      }
      at(n, argProblems(name, sec, words.slice(1), v));
      let closed = false;
      for (i++; i < lines.length; i++) {
        const body = lines[i]!;
        const b = boundary(body);
        if (b === '%end') {
          closed = true;
          break;
        }
        if (b === '%include') {
          at(i + 1, [`${name}: a %include line is read by Anaconda as an include, not as part of the section`]);
          continue;
        }
        if (b !== undefined) {
          at(i + 1, [`${name}: section opened on line ${n} does not end with %end before ${b}`]);
          i--;
          closed = true;
          break;
        }
        if (sec.script || body.trim() === '' || body.trimStart().startsWith('#')) continue;
        const entry = body.split('#')[0]!.trim();
        if (entry !== '' && !/^-?(@\^?[^\s@^-][^@]*|[^\s@^-]\S*)$/.test(entry))
          at(i + 1, [`%packages: ${JSON.stringify(entry)} is not a package, @group or -exclusion`]);
      }
      if (!closed) at(n, [`${name}: section does not end with %end`]);
      continue;
    }
    const spec = COMMANDS[name];
    if (!spec) {
      at(n, [`${name}: unknown command`]);
      continue;
    }
    at(n, argProblems(name, spec, words.slice(1), v));
    const key = name === 'partition' ? 'part' : name;
    if ((key === 'part' && seen.has('autopart')) || (key === 'autopart' && seen.has('part')))
      at(n, [`${name}: cannot be used with ${key === 'part' ? 'autopart' : 'part'} (line ${seen.get(key === 'part' ? 'autopart' : 'part')})`]);
    if (key === 'part' && words[1] && !words[1].startsWith('-')) {
      if (mounts.has(words[1])) at(n, [`${name}: a partition with the mount point ${words[1]} is already defined`]);
      mounts.add(words[1]);
    }
    seen.set(key, n);
  }
  return out;
}
