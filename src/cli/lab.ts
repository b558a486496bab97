// `netroot lab up --nodes N [--dir DIR] [--exit]` / `netroot lab down [--dir DIR]` — the full lab
// (src/lab/full.ts) for a user: blank QEMU nodes install onto their own iSCSI LUNs on a frontend
// running in a private network namespace, boot diskless, reboot; progress per node, then the time
// from power-on to diskless root per node. The lab has its own state directory (<dir>/state), never
// the operator's. `up` keeps the lab frontend running until `lab down` (or Ctrl-C) unless --exit.
// With --image NAME (an image of this frontend: netroot image build|import), each node instead
// installs that real OS onto its LUN (or, --disked, onto its own virtual disk), boots it with the
// image's dracut into multi-user.target, is logged in to over SSH, rebooted and powered off
// (src/lab/real-os.ts); --uefi boots the nodes with OVMF. With --power ipmi every node gets an
// emulated IPMI BMC (ipmi_sim, src/lab/ipmi-bmc.ts) and is powered on through it (ipmitool over
// lanplus) instead of the lab starting QEMU; --power redfish adds the lab's Redfish BMC per node
// (src/lab/redfish-bmc-main.ts, HTTPS, self-signed) and gives netroot that one; the BMCs (address, port, user, password) are listed in
// <dir>/bmc.json (mode 0600) and keep answering while the lab runs.
// --golden (issue #20): node 0 installs, its volume is frozen as golden volume lab-golden, and nodes
// 1..N-1 (default 4 nodes in all) boot as its clones without installing; each is personalised at
// its first boot, writes its own file from its role's <firstboot>, and finds it (and no other's)
// after a reboot (FullLab.runGolden).
// Needs root (network namespaces, tap devices, QEMU).
import { existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from './context.js';
import { parse, noExtra, intFlag, badVerb } from './args.js';
import { json } from './output.js';
import { UserError } from '../errors.js';
import { FullLab, RealOsNode, labSshKey, pidAlive, removeStale } from '../lab/index.js';
import { ImageRegistry } from '../image/index.js';

export const USAGE = `netroot lab up [--nodes N] [--power ipmi|redfish] [--dir DIR] [--exit] [--json]
       netroot lab up --golden [--nodes N] [--dir DIR] [--exit] [--json]   (one node installs and becomes golden; N-1 boot as its clones)
       netroot lab up --image NAME [--uefi] [--disked] [--nodes N] [--power ipmi|redfish] [--dir DIR] [--exit] [--json]
       netroot lab down [--dir DIR]`;

/** The argv that runs this same netroot CLI again (from source under tsx, or the built bin). */
function selfCommand(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]!];
}

/** With --power: how to reach the BMCs while the lab runs (the password stays in the file). */
function bmcHint(ctx: CliContext, full: FullLab): void {
  const b = full.bmcInfo()[0];
  if (!b) return;
  if (b.driver === 'redfish') {
    ctx.io.err(
      `the nodes' Redfish BMCs keep answering (${full.bmcFile}), e.g.: ip netns exec ${full.lab.namespace} curl -k -u ${b.user} https://${b.address}/redfish/v1/Systems\n`,
    );
    return;
  }
  ctx.io.err(
    `the nodes' IPMI BMCs keep answering (${full.bmcFile}), e.g.: IPMI_PASSWORD=... ip netns exec ${full.lab.namespace} ipmitool -I lanplus -C 3 -H ${b.address} -U ${b.user} -E chassis power status\n`,
  );
}

export async function labCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const { values: v, positionals: p } = parse(
    rest,
    {
      nodes: { type: 'string' },
      dir: { type: 'string' },
      exit: { type: 'boolean' },
      image: { type: 'string' },
      uefi: { type: 'boolean' },
      disked: { type: 'boolean' },
      power: { type: 'string' },
      golden: { type: 'boolean' },
    },
    USAGE,
  );
  noExtra(p, 0, USAGE);
  const dir = v.dir ?? join(ctx.config.stateDir, 'lab');
  const pidFile = join(dir, 'lab.pid');
  switch (verb) {
    case 'up': {
      if (process.getuid?.() !== 0) throw new UserError('E_LAB_ROOT', 'the lab needs root (network namespaces, tap devices, QEMU)');
      if (v.golden && (v.image !== undefined || v.power !== undefined))
        throw new UserError('E_USAGE', `--golden runs the busybox lab: not with --image or --power\nusage: ${USAGE}`);
      if ((v.uefi || v.disked) && !v.image) throw new UserError('E_USAGE', `--uefi and --disked go with --image\nusage: ${USAGE}`);
      if (v.power !== undefined && v.power !== 'ipmi' && v.power !== 'redfish')
        throw new UserError('E_USAGE', `--power ${JSON.stringify(v.power)}: ipmi or redfish\nusage: ${USAGE}`);
      const nodes = intFlag(v.nodes, 'nodes', v.golden ? 2 : 1, 8) ?? (v.golden ? 4 : v.image ? 1 : 2);
      // The image is checked before anything starts: a missing or broken one is the operator's to fix.
      const image = v.image ? { name: v.image, dir: new ImageRegistry(ctx.config.tftp.root).imageDir(v.image) } : undefined;
      if (image) await new ImageRegistry(ctx.config.tftp.root).get(image.name);
      if (existsSync(pidFile) && pidAlive(Number(readFileSync(pidFile, 'utf8'))))
        throw new UserError(
          'E_LAB_RUNNING',
          `a lab is already running from ${dir} (pid ${readFileSync(pidFile, 'utf8').trim()}): netroot lab down --dir ${dir}`,
        );
      rmSync(join(dir, 'state'), { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(pidFile, `${process.pid}\n`);
      const t0 = Date.now();
      const progress = (node: string, what: string) => ctx.io.err(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${node}: ${what}\n`);
      mkdirSync(dir, { recursive: true });
      const key = image ? labSshKey(dir) : undefined;
      const full = new FullLab({
        workDir: dir,
        netroot: selfCommand(),
        nodes,
        onProgress: progress,
        ...(v.power === 'ipmi' || v.power === 'redfish' ? { power: v.power } : {}),
        ...(image && key ? { image, volumeGiB: 2, memoryMb: 1024, sshPublicKey: key.pub, stageDeadlineMs: 600_000 } : {}),
      });
      try {
        if (image && key) {
          await full.up();
          const os = new RealOsNode(full, key.key, progress);
          const lives = [];
          for (let i = 0; i < nodes; i++) {
            const disk = v.disked ? join(dir, `disk-${i}.img`) : undefined;
            if (disk) {
              writeFileSync(disk, '');
              truncateSync(disk, 2 * 2 ** 30); // sparse, like a blank 2 GiB disk
            }
            lives.push(await os.life({ index: i, firmware: v.uefi ? 'uefi' : 'bios', stageDeadlineMs: 600_000, ...(disk ? { disk } : {}) }));
          }
          if (v.json) ctx.io.out(json(lives.map(({ journal: _j, ...l }) => l)));
          else
            for (const l of lives)
              ctx.io.out(
                `${l.host} ${l.mac} ${l.ip} (${l.firmware}${v.disked ? ', disked' : ', diskless'}): install ${l.installSeconds.toFixed(1)} s, power-on to multi-user.target ${l.bootSeconds.toFixed(1)} s (again ${l.secondBootSeconds.toFixed(1)} s), systemctl reboot ${l.rebootSeconds.toFixed(1)} s, poweroff ${l.poweroffSeconds.toFixed(1)} s, file kept across reboot: ${l.persisted ? 'yes' : 'NO'}\n`,
              );
          if (!v.exit) {
            ctx.io.err(`lab frontend keeps running in namespace ${full.lab.namespace} (state ${full.stateDir}); stop it with: netroot lab down --dir ${dir}\n`);
            bmcHint(ctx, full);
            await new Promise<never>(() => {});
          }
          return 0;
        }
        if (v.golden) {
          const g = await full.runGolden();
          if (v.json) ctx.io.out(json(g));
          else {
            ctx.io.out(`${g.install.host}: installed in ${g.install.seconds.toFixed(1)} s, frozen as golden volume lab-golden\n`);
            for (const c of g.clones)
              ctx.io.out(
                `${c.host} ${c.mac} ${c.ip}: clone, no install; power-on to root ${c.firstSeconds.toFixed(1)} s (personalised), after reboot ${c.rebootSeconds.toFixed(1)} s (boot ${c.secondBootCount}); own files: ${c.ownFiles.join(' ')}\n`,
              );
          }
          if (!v.exit) {
            ctx.io.err(`lab frontend keeps running in namespace ${full.lab.namespace} (state ${full.stateDir}); stop it with: netroot lab down --dir ${dir}\n`);
            await new Promise<never>(() => {});
          }
          return 0;
        }
        const lives = await full.run();
        if (v.json) ctx.io.out(json(lives));
        else
          for (const l of lives)
            ctx.io.out(
              `${l.host} ${l.mac} ${l.ip}: install ${l.installSeconds.toFixed(1)} s, power-on to diskless root ${l.disklessSeconds.toFixed(1)} s, after reboot ${l.rebootSeconds.toFixed(1)} s (root kept boot ${l.persistedBoot}), whole life ${l.lifeSeconds.toFixed(1)} s\n`,
            );
        if (!v.exit) {
          ctx.io.err(`lab frontend keeps running in namespace ${full.lab.namespace} (state ${full.stateDir}); stop it with: netroot lab down --dir ${dir}\n`);
          bmcHint(ctx, full);
          // The Lab's SIGINT/SIGTERM handlers kill every lab process and delete the namespace.
          await new Promise<never>(() => {});
        }
      } finally {
        await full.down();
        rmSync(pidFile, { force: true });
      }
      return 0;
    }
    case 'down': {
      if (v.nodes !== undefined || v.exit || v.image !== undefined || v.uefi || v.disked || v.power !== undefined || v.golden)
        throw new UserError('E_USAGE', `lab down takes only --dir\nusage: ${USAGE}`);
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
      if (pid > 0 && pidAlive(pid)) {
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 100 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
        if (pidAlive(pid)) throw new UserError('E_LAB_DOWN', `lab process ${pid} did not stop`);
        ctx.io.out(`stopped the lab (pid ${pid})\n`);
      } else ctx.io.out('no lab running\n');
      rmSync(pidFile, { force: true });
      // A lab killed with SIGKILL leaves its namespace: remove those whose creator is dead.
      const stale = removeStale('nrt-full');
      if (stale.length) ctx.io.out(`removed stale namespaces: ${stale.join(' ')}\n`);
      return 0;
    }
    default:
      throw badVerb('lab', verb, USAGE);
  }
}
