// What a real-OS node's journal may and may not say about its root disk (the real-OS e2e test
// checks the first boot's journal with it; test/lab/journal-check.test.ts checks it on real lines).
/** Journal lines that mean the root disk or its iSCSI connection failed. */
const JOURNAL_ERRORS =
  /I\/O error|detected conn error|connection\d*:\d+: .*(error|fail)|iscsi.*(timed out|recovery timed out)|Buffer I\/O|EXT4-fs error|blk_update_request/i;

const stamp = (l: string): number => Number(/^\[\s*(\d+\.\d+)\]/.exec(l)?.[1] ?? NaN);

/**
 * The journal lines that show a root disk or iSCSI failure. One exception, seen only on the loaded
 * two-node runs (UEFI, three times in eight lives, with and without the target's pings): when the
 * root's iscsid starts and takes over the session the initrd made (it has no node record: "Could not
 * read data from db"), the kernel reports that connection closed (1020) and iscsid logs in again
 * ("operational after recovery"); the target saw no error and closed nothing. That one reconnect is
 * reported by the caller but not counted when it lies inside the takeover: after systemd started the
 * root's iscsid (or at most 15 s before the takeover line, when the journal lacks that line) and not
 * after the recovery, which must follow the takeover within 15 s. The start bound matters on loaded
 * runs: iscsid's own lines can reach the journal 15–20 s after it acted (seen in CI 2026-12-05).
 * Any second reconnect, any I/O or file-system error, or a reconnect outside the takeover counts.
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
    const taken = stamp(takeover);
    const starts = lines
      .filter((l) => /systemd\[1\]: Starting iscsid\.service/.test(l))
      .map(stamp)
      .filter((t) => t <= taken);
    const from = Math.min(taken - 15, ...starts.slice(-1));
    const back = stamp(recovered);
    if (at >= from && at <= back && back >= taken && back - taken <= 15) {
      takeoverReconnect = reconnect[0]!;
      bad = bad.filter((l) => l !== takeoverReconnect);
    }
  }
  return { bad, takeoverReconnect };
}
