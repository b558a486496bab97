// What a booting machine tells us about itself, and which first-stage file it needs.
// Client architecture numbers: RFC 4578 §2.1 (option 93) and the IANA "Processor Architecture
// Types" registry: 0 x86 BIOS, 6 EFI IA32, 7 EFI BC (x86-64 in practice), 9 EFI x86-64,
// 10 ARM32 EFI, 11 ARM64 EFI, 16 x86-64 UEFI HTTP boot, 19 ARM64 UEFI HTTP boot.

export type Firmware = 'bios' | 'uefi-x64' | 'uefi-ia32' | 'uefi-arm64' | 'uefi-arm32' | 'unknown';

export interface Machine {
  mac: string;
  /** DHCP option 93; null when the client sent none (old BIOS ROMs, iPXE sometimes). */
  clientArch: number | null;
  /** The client already runs iPXE (user class "iPXE" or option 175). */
  isIpxe: boolean;
  /** UEFI HTTP boot client (arch 16/19, vendor class HTTPClient): wants a URL, not a TFTP name. */
  httpBoot?: boolean;
}

export function firmwareOf(arch: number | null): Firmware {
  switch (arch) {
    case null:
    case 0:
      return 'bios';
    case 6:
      return 'uefi-ia32';
    // Arch 7 is "EFI BC" in RFC 4578 but every x86-64 UEFI firmware (EDK2/OVMF included) sends 7.
    case 7:
    case 9:
    case 16:
      return 'uefi-x64';
    case 10:
      return 'uefi-arm32';
    case 11:
    case 19:
      return 'uefi-arm64';
    default:
      return 'unknown';
  }
}

/** The iPXE binary, by firmware, that a non-iPXE PXE ROM gets over TFTP (files from Debian `ipxe`). */
export function firstStageFile(f: Firmware, uefiIpxe: 'ipxe.efi' | 'snponly.efi'): string | null {
  switch (f) {
    case 'bios':
      // undionly.kpxe chains through the ROM's UNDI driver: works on every BIOS PXE NIC.
      return 'undionly.kpxe';
    case 'uefi-x64':
      return uefiIpxe;
    case 'uefi-arm64':
      return 'ipxe-arm64.efi';
    default:
      return null;
  }
}
