// Renders a BootSpec as an iPXE script, a pxelinux config or a GRUB config.
import Handlebars from 'handlebars';
import type { BootSpec } from './spec.js';
import { IPXE, PXELINUX, GRUB } from './templates.js';
import { NetrootError } from '../errors.js';

const hb = Handlebars.create();
const compile = (t: string) => hb.compile(t, { strict: true, noEscape: true });
const ipxeTemplate = compile(IPXE);
const pxelinuxTemplate = compile(PXELINUX);
const grubTemplate = compile(GRUB);

/** One token of a boot script: no white space, no control characters, no iPXE `${` expansion. */
const TOKEN = /^[A-Za-z0-9._:/\-?=&%@+,~[\]]+$/;
/** Kernel arguments: printable ASCII and spaces, no `${`, no line breaks. */
const ARGS = /^[\x20-\x7e]*$/;

export function checkToken(v: string, field: string): string {
  if (!TOKEN.test(v))
    throw new NetrootError(
      'E_BOOT_UNSAFE_VALUE',
      `${field} has characters a boot script cannot carry: ${JSON.stringify(field.includes('secret') ? '[redacted]' : v)}`,
    );
  return v;
}

export function checkArgs(v: string, field: string): string {
  if (!ARGS.test(v) || v.includes('${')) throw new NetrootError('E_BOOT_UNSAFE_VALUE', `${field} has characters a kernel command line cannot carry`);
  return v.trim();
}

export interface RenderUrls {
  /** e.g. http://10.1.1.1:8080 */
  base: string;
}

function fileUrl(urls: RenderUrls, path: string): string {
  return path.startsWith('http://') || path.startsWith('https://') ? path : `${urls.base}/boot/files/${path.replace(/^\/+/, '')}`;
}

function view(spec: BootSpec, urls: RenderUrls) {
  const self = `${urls.base}/boot/ipxe/${spec.mac}`;
  const v = {
    mac: checkToken(spec.mac, 'mac'),
    host: spec.host === null ? null : checkToken(spec.host, 'host'),
    action: spec.action,
    self,
    kernel: null as string | null,
    initrds: [] as Array<{ name: string; url: string }>,
    initrdList: '',
    args: '',
    sanboot: null as null | { initiatorIqn: string; rootPath: string; chap: { user: string; secret: string } | null },
    local: spec.action === 'local',
    wait: spec.action === 'wait',
    chainIpxe: spec.action === 'sanboot',
    ipxeLkrn: `${urls.base}/boot/files/ipxe.lkrn`,
    ipxeEfi: `${urls.base}/boot/files/ipxe.efi`,
  };
  if (spec.action === 'install' || spec.action === 'os') {
    v.kernel = checkToken(fileUrl(urls, spec.kernel), 'kernel');
    v.initrds = spec.initrds.map((i) => ({ name: checkToken(i.name, 'initrd name'), url: checkToken(fileUrl(urls, i.path), 'initrd') }));
    v.initrdList = v.initrds.map((i) => i.url).join(',');
    v.args = checkArgs(spec.args, 'kernel arguments');
  }
  if (spec.action === 'sanboot') {
    v.sanboot = {
      initiatorIqn: checkToken(spec.initiatorIqn, 'initiator IQN'),
      rootPath: checkToken(spec.rootPath, 'root path'),
      chap: spec.chap ? { user: checkToken(spec.chap.user, 'CHAP user'), secret: checkToken(spec.chap.secret, 'CHAP secret') } : null,
    };
  }
  return v;
}

/** Collapses the blank lines left by false {{#if}} blocks. */
function tidy(text: string): string {
  return text.replace(/\n{2,}/g, '\n');
}

export function renderIpxe(spec: BootSpec, urls: RenderUrls): string {
  return tidy(ipxeTemplate(view(spec, urls)));
}

export function renderPxelinux(spec: BootSpec, urls: RenderUrls): string {
  return tidy(pxelinuxTemplate(view(spec, urls)));
}

export function renderGrub(spec: BootSpec, urls: RenderUrls): string {
  const v = view(spec, urls);
  // GRUB speaks http through its own device syntax: (http,host:port)/path
  const m = /^http:\/\/([^/]+)(\/.*)$/;
  const grubUrl = (u: string) => u.replace(m, '(http,$1)$2');
  return tidy(
    grubTemplate({ ...v, kernel: v.kernel && grubUrl(v.kernel), initrds: v.initrds.map((i) => ({ ...i, url: grubUrl(i.url) })), ipxeEfi: grubUrl(v.ipxeEfi) }),
  );
}
