// What a real-OS node's journal may and may not say about its root disk (the real-OS e2e test
// checks the first boot's journal with it; test/lab/journal-check.test.ts checks it on real lines).
/** Journal lines that mean the root disk or its iSCSI connection failed. */
const JOURNAL_ERRORS = /I\/O error|detected conn error|connection\d*:\d+: .*(error|fail)|iscsi.*(timed out|recovery timed out)|Buffer I\/O|EXT4-fs error|blk_update_request/i;

const stamp = (l: string): number => Number(/^\[\s*(\d+\.\d+)\]/.exec(l)?.[1] ?? NaN);

/**
 * The journal lines that show a root disk or iSCSI failure. One exception, seen only on the loaded
 * two-node runs (UEFI, twice in six lives, with and without the target's pings): when the root's
 * iscsid starts and takes over the session the initrd made (it has no node record: "Could not read
 * data from db"), the kernel may report that connection closed (1020) and iscsid logs in again
 * within seconds ("operational after recovery"); the target saw no error and closed nothing.
 * That one reconnect, inside that takeover, is reported by the caller but not counted; any second
 * one, any I/O or file-system error, or a reconnect without the takeover still is.
 */
export function journalProblems(journal: string): { bad: string[]; takeoverReconnect: string | null } {
  const lines = journal.split('\n');
  let bad = lines.filter((l) => JOURNAL_ERRORS.test(l));
  const takeover = lines.find((l) => /iscsid\[\d+\]: Could not read data from db/.test(l));
  const recovered = lines.find((l) => /iscsid\[\d+\]: connection\d+:0 is operational after recovery \(1 attempts\)/.test(l));
  const reconnect = bad.filter((l) => /kernel:\s+connection\d+:0: detected conn error \(1020\)/.test(l));
  let takeoverReconnect: string | null = null;
  if (takeover && recovered && reconnect.length === 1) {
    const at = stamp(reconnect[0]!);
    if (Math.abs(stamp(takeover) - at) <= 15 && stamp(recovered) - at >= 0 && stamp(recovered) - at <= 15) {
      takeoverReconnect = reconnect[0]!;
      bad = bad.filter((l) => l !== takeoverReconnect);
    }
  }
  return { bad, takeoverReconnect };
}
