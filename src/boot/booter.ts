// The boot decision (Pixiecore's Booter): one narrow interface every server asks.
//   machine → BootSpec  (iPXE script / pxelinux / GRUB render it)
//   machine → DHCP answer (address + first-stage boot file), or null for unknown machines.
import type { Config } from '../config/index.js';
import { ADDING_ATTRIBUTE } from '../discovery/claims.js';
import type { Host, Repos } from '../store/index.js';
import { UserError } from '../errors.js';
import { netmaskOf } from '../net/address.js';
import { firmwareOf, firstStageFile, type Machine } from './machine.js';
import type { BootSpec } from './spec.js';
import { renderIpxe, renderPxelinux, renderGrub, type RenderUrls } from './render.js';
import type { KickstartService } from './kickstart.js';
import { imageOfBootPath } from './os-image.js';
import { installSource } from './install-source.js';

export interface DhcpAnswer {
  host: string;
  ip: string;
  subnetMask: string;
  router: string | null;
  dns: string[];
  domain: string;
  hostname: string;
  leaseSeconds: number;
  nextServer: string;
  /** TFTP file name for PXE ROMs, or the iPXE script URL for iPXE clients. */
  bootFile: string | null;
}

/** The frontend's HTTP base URL as nodes reach it (iPXE scripts, kickstarts, HTTP-boot files). */
export function bootBaseUrl(config: Config): string {
  return `http://${config.network.frontendAddress}:${config.http.port}`;
}

export class Booter {
  readonly urls: RenderUrls;

  constructor(
    private readonly repos: Repos,
    private readonly config: Config,
    private readonly kickstarts: KickstartService,
  ) {
    this.urls = { base: bootBaseUrl(config) };
  }

  kickstartUrl(host: string): string {
    return `${this.urls.base}/install/kickstart/${host}`;
  }

  overlayUrl(host: string): string {
    return `${this.urls.base}/boot/node/${host}/overlay.img`;
  }

  async specFor(mac: string): Promise<BootSpec> {
    const host = await this.repos.hosts.byMac(mac);
    if (!host) return { action: 'wait', host: null, mac };
    return this.specForHost(host, mac);
  }

  async specForHost(host: Host, mac = host.interfaces[0]?.mac ?? ''): Promise<BootSpec> {
    const b = this.config.boot;
    switch (host.bootAction) {
      case 'install': {
        // The host's attributes decide the installer (install_kernel/initrd/stage2/repo) and must
        // resolve (an os_image that is gone refuses the install rather than installing nothing).
        const src = installSource(await this.kickstarts.attributesOf(host), { kernel: b.installKernel, initrd: b.installInitrd });
        return {
          action: 'install',
          host: host.name,
          mac,
          kernel: src.kernel,
          initrds: [{ name: 'initrd.img', path: src.initrd }],
          args: `inst.ks=${this.kickstartUrl(host.name)} ip=dhcp${src.args ? ' ' + src.args : ''} ${b.installArgs}`,
        };
      }
      case 'os': {
        const rec = await this.repos.boot.get(host.name);
        if (!rec)
          throw new UserError(
            'E_NO_BOOT_RECORD',
            `${host.name} has boot action os but no diskless boot files yet (install it first: netroot host set ${host.name} boot=install)`,
          );
        // A record that points into an OS image is served only while that image is whole: a removed
        // or broken image refuses the boot (and says so) instead of booting half of it.
        const image = imageOfBootPath(rec.kernel) ?? imageOfBootPath(rec.initrd);
        if (image) await this.kickstarts.images.get(image);
        const initrds = [{ name: 'initrd.img', path: rec.initrd }];
        if (rec.overlay) initrds.push({ name: 'overlay.img', path: this.overlayUrl(host.name) });
        return { action: 'os', host: host.name, mac, kernel: rec.kernel, initrds, args: rec.args };
      }
      case 'local':
        // A machine insert-ethers just added whose plugins are still running (on this server or
        // another, in a CLI process, or left by a dead server until resumed; ADDING_ATTRIBUTE marks
        // it): its boot action is `local` only until they set it (90-boot-action: install, or os for
        // a golden clone). Keep it asking, as an unknown machine does, instead of sending it to a
        // boot device it has not got (it would sit in the firmware's "no bootable device" for a
        // minute; the cluster lab's golden clone asked before its allocation and slurm.conf restart
        // ended). A host an operator added or set to `local` has no mark and boots locally.
        if (host.state === 'discovered' && (await this.repos.attributes.list({ scope: 'host', target: host.name })).some((a) => a.name === ADDING_ATTRIBUTE))
          return { action: 'wait', host: null, mac };
        return { action: 'local', host: host.name, mac };
      case 'sanboot': {
        const a = await this.kickstarts.attributesOf(host);
        const need = (k: string) => {
          const v = a[k];
          if (!v) throw new UserError('E_NO_ISCSI', `${host.name} has boot action sanboot but no ${k} attribute (no iSCSI volume allocated)`);
          return v;
        };
        const lun = Number(need('iscsi_lun'));
        return {
          action: 'sanboot',
          host: host.name,
          mac,
          rootPath: `iscsi:${need('iscsi_portal')}::${need('iscsi_port')}:${lun.toString(16)}:${need('iscsi_target')}`,
          initiatorIqn: need('iscsi_initiator'),
          chap: a['iscsi_user'] && a['iscsi_secret'] ? { user: a['iscsi_user'], secret: a['iscsi_secret'] } : null,
        };
      }
    }
  }

  async ipxeScript(mac: string): Promise<string> {
    return renderIpxe(await this.specFor(mac), this.urls);
  }
  async pxelinuxConfig(mac: string): Promise<string> {
    return renderPxelinux(await this.specFor(mac), this.urls);
  }
  async grubConfig(mac: string): Promise<string> {
    return renderGrub(await this.specFor(mac), this.urls);
  }

  /** The DHCP answer for a machine, or null when it is unknown or has no address (no answer). */
  async dhcpAnswer(m: Machine): Promise<DhcpAnswer | null> {
    const host = await this.repos.hosts.byMac(m.mac);
    if (!host) return null;
    const iface = host.interfaces.find((i) => i.mac === m.mac);
    if (!iface?.ip) return null;
    const n = this.config.network;
    let bootFile: string | null;
    if (m.isIpxe) bootFile = `${this.urls.base}/boot/ipxe/${m.mac}`;
    else if (m.httpBoot) {
      const f = firstStageFile(firmwareOf(m.clientArch), this.config.boot.uefiIpxe);
      bootFile = f ? `${this.urls.base}/boot/files/${f}` : null;
    } else bootFile = firstStageFile(firmwareOf(m.clientArch), this.config.boot.uefiIpxe);
    return {
      host: host.name,
      ip: iface.ip,
      subnetMask: netmaskOf(iface.subnet ?? n.privateNetwork),
      router: n.router ?? null,
      dns: [...n.dns],
      domain: n.domain,
      hostname: host.name,
      leaseSeconds: this.config.dhcp.leaseSeconds,
      nextServer: n.frontendAddress,
      bootFile,
    };
  }
}
