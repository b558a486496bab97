// Boot configuration templates (handlebars, compiled strict + noEscape). Every value reaching
// them has passed checkToken/checkArgs in render.ts, so no value can add a line or a command.

/** iPXE script. Kernel first, then initrds, then boot (iPXE `kernel` = imgfetch + imgselect). */
export const IPXE = `#!ipxe
# netroot: {{mac}}{{#if host}} is {{host}}{{/if}}, action {{action}}
{{#if kernel}}
kernel {{kernel}}{{#each initrds}} initrd={{this.name}}{{/each}} {{args}} || goto failed
{{#each initrds}}
initrd --name {{this.name}} {{this.url}} || goto failed
{{/each}}
boot || goto failed
{{/if}}
{{#if sanboot}}
set initiator-iqn {{sanboot.initiatorIqn}}
{{#if sanboot.chap}}
set username {{sanboot.chap.user}}
set password {{sanboot.chap.secret}}
{{/if}}
sanboot {{sanboot.rootPath}} || goto failed
{{/if}}
{{#if local}}
echo netroot: {{host}} boots from its next boot device
exit 1
{{/if}}
{{#if wait}}
echo netroot: {{mac}} is not registered yet (insert-ethers); asking again in 5 s
sleep 5
chain --replace --autofree {{self}} || goto failed
{{/if}}
:failed
echo netroot: boot failed; asking the frontend again in 10 s
sleep 10
chain --replace --autofree {{self}}
`;

/** pxelinux.cfg/01-<mac>. pxelinux cannot sanboot: it loads iPXE (ipxe.lkrn) to do it. */
export const PXELINUX = `# netroot: {{mac}}{{#if host}} is {{host}}{{/if}}, action {{action}}
DEFAULT netroot
PROMPT 0
TIMEOUT 0
LABEL netroot
{{#if kernel}}
  KERNEL {{kernel}}
  INITRD {{initrdList}}
  APPEND {{args}}
{{/if}}
{{#if local}}
  LOCALBOOT 0
{{/if}}
{{#if chainIpxe}}
  KERNEL {{ipxeLkrn}}
  APPEND dhcp && chain {{self}}
{{/if}}
`;

/** grub.cfg-01-<mac> for UEFI GRUB clients; sanboot goes through iPXE (chainloader). */
export const GRUB = `# netroot: {{mac}}{{#if host}} is {{host}}{{/if}}, action {{action}}
set timeout=0
set default=0
menuentry 'netroot {{action}}' {
{{#if kernel}}
  linux {{kernel}} {{args}}
  initrd{{#each initrds}} {{this.url}}{{/each}}
{{/if}}
{{#if local}}
  exit
{{/if}}
{{#if chainIpxe}}
  chainloader {{ipxeEfi}}
{{/if}}
}
`;
