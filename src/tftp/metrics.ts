// Counters of the TFTP server (metrics style, like DhcpServer.metrics): plain numbers, read by
// tests and exported by whoever wants them. Bad input is counted, never thrown. What a transfer's
// link counted in its data phase (streamedWindows, duplicateAcks, retransmits, timeouts, the ACKs
// among badTransferPackets) is added when the transfer ends.
export function newTftpMetrics() {
  return {
    /** Datagrams on the listening port. */
    received: 0,
    /** Requests that did not decode (bad opcode, no NUL, unknown mode, bad option list). */
    malformed: 0,
    /** Non-request packets on the listening port, dropped. */
    ignored: 0,
    rrq: 0,
    wrqRefused: 0,
    notFound: 0,
    refused: 0,
    /** Requests answered "busy" (ERROR 0): maxTransfers were running, or one of the two below. */
    busy: 0,
    /** ... because one source address already held maxTransfersPerClient transfers. */
    busyPerClient: 0,
    /** ... because the byte budget (maxBufferedBytes) could not hold even a lean window. */
    busyMemory: 0,
    /** Transfers answered a smaller windowsize/blksize than asked (maxWindowBytes or the budget). */
    narrowed: 0,
    /** Transfers started / finished with the last ACK / ended early (timeout, client error, failure). */
    transfers: 0,
    completed: 0,
    aborted: 0,
    /** File bytes clients acknowledged, added when each transfer ends (the whole file when completed). */
    bytesAcked: 0,
    timeouts: 0,
    /** Windows re-sent after a timeout or a partial-window ACK (RFC 7440 go-back). */
    retransmits: 0,
    /** Windows the link sent on a full-window ACK (the data phase's normal path; link.ts). */
    streamedWindows: 0,
    /** ACKs for a block already acknowledged: ignored (no Sorcerer's Apprentice resend). */
    duplicateAcks: 0,
    /** ACKs for a block never sent, other opcodes on a transfer socket, undecodable packets there. */
    badTransferPackets: 0,
    /** Datagrams from another TID: always 0, as transfer sockets are connected and the kernel drops them (kept for /metrics). */
    unknownTid: 0,
    clientErrors: 0,
    /** Error packets netroot sent. */
    errorsSent: 0,
    /** Internal failures (a resolver or a read threw something unexpected). */
    errors: 0,
    active: 0,
    /** Bytes the running transfers are charged (windows in flight + read-ahead; budget.ts). */
    bufferedBytes: 0,
    /** The most bufferedBytes ever was. */
    bufferedBytesPeak: 0,
  };
}
export type TftpMetrics = ReturnType<typeof newTftpMetrics>;
