/*
 * tftpio: the transfer link of TFTP read transfers, for src/tftp/link.ts. It owns the data phase
 * (RFC 1350 section 2, RFC 2347 option acknowledgement, RFC 7440 windows); src/tftp/transfer.ts
 * owns what comes before and after (negotiation, the file, the end). The same contract in
 * TypeScript, on node:dgram, is src/tftp/data-phase.ts: the reference the tests run this against.
 *
 * Why it exists: a lockstep TFTP transfer is one ACK in, one DATA out. Through node:dgram each
 * ACK costs two 64 KiB buffer allocations (one for the datagram, one for the recvmsg that finds
 * the queue empty), an address object and an event emit, and each DATA a SendWrap and argument
 * checks: about 15 us of user time per block here, against dnsmasq's ~1.5 us. Here an ACK is
 * answered in the poll callback that reads it, and no JS runs until something needs a decision
 * that is not the protocol's (bytes of a file not in memory, the end):
 *
 *   - every transfer has its own UDP socket (its TID, RFC 1350 section 4), bound to the server
 *     address and connected to the client, so the kernel drops other TIDs' datagrams;
 *   - sockets are watched by uv_poll_t handles on Node's own loop; a readable socket gives one
 *     datagram per loop iteration; ACKs are taken by the data phase, everything else (ERROR,
 *     garbage) goes into a shared slab, and one uv_check callback per iteration hands every
 *     datagram and event of that iteration to JS in a single call (no allocation);
 *   - a window of DATA blocks goes out with one sendmmsg(2), each packet two iovecs: a 4-byte
 *     header built here and the block's bytes straight from the caller's buffer (no copy);
 *   - when the socket buffer is full, the unsent packets are copied to a per-socket queue and
 *     written when the socket is writable again (bounded; beyond the bound they are dropped,
 *     which TFTP's retransmission recovers from, as from any lost datagram);
 *   - spin: while exactly one transfer is in its data phase and nothing else on the loop is
 *     ready, it polls its socket for the next ACK for up to SPIN_NS before going back to sleep
 *     (why and its bounds: at spin_recv()). Cost: while a fast lone client transfers, the
 *     server's thread stays on its CPU.
 *
 * The data phase (start/provide; block numbers absolute, 32 bits; on the wire the low 16 bits,
 * rolling over 65535 -> 0 as tftp-hpa, curl, iPXE and EDK2 expect):
 *   - blocks are 1..last, last = floor(size / blksize) + 1: a file whose size is a multiple of
 *     blksize ends with an empty block;
 *   - with an OACK, it is sent first and re-sent on timeout until ACK 0 (RFC 2347); any other
 *     ACK then is a bad packet. Without one, DATA 1 goes out at once;
 *   - a window is blocks base+1 .. min(base + windowsize, last), sent at once (RFC 7440); an ACK
 *     for block k of it moves base to k and sends the next window from k+1: a full-window ACK is
 *     the normal path (counted in `windows`), a partial one the RFC 7440 go-back (`retransmits`);
 *   - an ACK of base again is ignored (`dupAcks`): only a timeout re-sends, the fix for the
 *     Sorcerer's Apprentice bug (RFC 1123 section 4.2.3.1); an ACK past the last block sent is a
 *     bad packet (`badAcks`);
 *   - no ACK for timeoutMs: the OACK or the window from base+1 is sent again (`timeouts`,
 *     `retransmits`); after maxRetries timeouts in a row the phase ends: EVENT_TIMEOUT;
 *   - the ACK of the last block ends it: EVENT_DONE;
 *   - the bytes come from buffers JS provides (provide(id, offset, buf): the whole file, or one
 *     read-ahead chunk; the link keeps only the last one). A window not inside it is not sent:
 *     EVENT_NEED names its first block, JS provides, the window goes out. From EVENT_NEED until
 *     the next provide nothing is sent from the buffer held (every later window starts and ends
 *     no earlier; a timeout re-sends the same one), so JS may read the next chunk into it.
 *
 * JS API (all synchronous; errors are thrown as Error with a `code`):
 *   init(receiver: (count: number) => void) -> { slab: Buffer, meta: Int32Array }
 *       Entry i of a batch: meta[3i] socket id, meta[3i+2] flags. A datagram (flags 0 or 1 = cut):
 *       meta[3i+1] its length, its bytes in the slab at i * SLOT_BYTES (a longer datagram is cut
 *       to SLOT_BYTES). An event (flags EVENT_NEED/DONE/TIMEOUT): meta[3i+1] its value (the
 *       block, as uint32 bits). The slab is reused after receiver returns: copy what you keep.
 *   open(localAddress, remoteAddress, remotePort, sendBufferBytes) -> [id, localPort]
 *   provide(id, offset, buf) -> block      the file's bytes from `offset`; returns the first block
 *       of the window still waiting for bytes (0: none, the waiting window went out)
 *   start(id, oack | null, size, blksize, windowsize, timeoutMs, maxRetries) -> block   as provide
 *   state(id) -> [base, sentTo, windows, dupAcks, retransmits, timeouts, badAcks]
 *   send(id, buf) -> void          one datagram (OACK, ERROR)
 *   close(id) -> void              stops the phase and watching; the fd is closed once libuv lets go
 *   stats() -> { queued, dropped, superseded, sendErrors, socketErrors, spunWindows }
 *       datagrams queued on EAGAIN, dropped at the queue bound, dropped from the queue because a
 *       new window replaced them (drop_queue), send errors (ECONNREFUSED: client gone), ICMP
 *       errors reported on a socket (cleared; the socket keeps going), ACKs the spin read
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#define SLOT_BYTES 1500     /* one Ethernet MTU: no valid client packet of a read transfer is longer */
#define BATCH_MAX 1024      /* datagrams and events handed to JS per loop iteration */
#define MMSG_MAX 64         /* packets per sendmmsg call */
#define QUEUE_MAX (16u << 20) /* bytes a socket may hold back while its send buffer is full */
#define FLAG_CUT 1          /* the datagram was longer than SLOT_BYTES */
#define EVENT_NEED 2        /* the window from block `value` waits for bytes (provide) */
#define EVENT_DONE 4        /* the last block was acknowledged */
#define EVENT_TIMEOUT 8     /* maxRetries timeouts in a row */
#define SPIN_NS 50000ull    /* how long a lone transfer polls for its next ACK before sleeping */
#define SPIN_BUDGET_NS 1000000ull /* the most one poll callback spends answering a lone transfer */
#define SPIN_BACKOFF 64     /* windows a transfer answers by sleeping after a spin that timed out */
#define MAX_BLOCKS 0xffffffffu /* blocks are counted in 32 bits */

enum { PHASE_IDLE, PHASE_OACK, PHASE_DATA, PHASE_OVER };

typedef struct pending {
  struct pending *next;
  size_t len;
  unsigned char data[];
} pending_t;

typedef struct sock {
  uv_poll_t poll;           /* first: the handle's address is the struct's */
  uv_timer_t timer;         /* the retransmission timeout */
  struct addon *addon;
  int fd;
  int32_t id;
  int events;
  int handles;              /* handles not closed yet; the struct is freed after the last */
  pending_t *head, *tail;
  size_t queued_bytes;
  /* The data phase (header comment). Block numbers are absolute. */
  int phase;
  uint32_t base;            /* the highest block acknowledged */
  uint32_t sent_to;         /* the last block sent */
  uint32_t last, ws, bs;
  uint32_t need;            /* the first block of a window waiting for bytes; 0: none */
  uint64_t size;
  uint32_t retries, max_retries;
  uint64_t timeout_ns, deadline_ns;
  int timer_on;
  unsigned char *oack;
  size_t oack_len;
  double windows, dup_acks, retransmits, timeouts, bad_acks;
  uint32_t spin_backoff;    /* windows left before this transfer may spin again */
  unsigned char *data;      /* bytes [data_off, data_off + data_len) of the file */
  size_t data_len;
  uint64_t data_off;
  napi_ref data_ref;        /* keeps `data` alive; dropped when another Buffer is provided, or at close.
                             * Callers must not transfer or detach that Buffer's ArrayBuffer while it
                             * is in use (netroot's are file-cache snapshots or read-ahead chunks). */
} sock_t;

typedef struct addon {
  napi_env env;
  uv_loop_t *loop;
  uv_check_t check;
  napi_ref receiver;
  napi_ref slab_ref, meta_ref;
  napi_async_context async;
  unsigned char *slab;
  int32_t *meta;
  int32_t count;
  sock_t **slots;           /* by socket id; NULL when free */
  int32_t *next_free;       /* free-list links, parallel to slots */
  int32_t nslots;
  int32_t free_head;
  int in_callback;
  int actives;              /* sockets in PHASE_DATA (the spin is for a lone one) */
  int pending_closes;       /* uv_close calls whose callback has not run yet */
  napi_async_cleanup_hook_handle teardown; /* set while the environment is going away */
  double queued, dropped, superseded, send_errors, socket_errors;
  double spun;              /* ACKs a lone transfer read while polling instead of sleeping (spin) */
} addon_t;

static void throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, "E_TFTPIO", msg);
}

static addon_t *get_addon(napi_env env) {
  addon_t *a = NULL;
  napi_get_instance_data(env, (void **)&a);
  if (!a || !a->slab) {
    napi_throw_error(env, "E_TFTPIO", "tftpio.init() was not called");
    return NULL;
  }
  return a;
}

static sock_t *sock_of(napi_env env, addon_t *a, napi_value v) {
  int32_t id;
  if (napi_get_value_int32(env, v, &id) != napi_ok || id < 0 || id >= a->nslots) {
    napi_throw_range_error(env, "E_TFTPIO", "unknown socket id");
    return NULL;
  }
  sock_t *s = a->slots[id];
  if (!s) {
    napi_throw_range_error(env, "E_TFTPIO", "socket is closed");
    return NULL;
  }
  return s;
}

/* The prologue of every call on one socket: at most `max` arguments into argv, their number one
 * of `n1`/`n2`, argv[0] an open socket id. Otherwise throws (naming `usage`) and returns NULL. */
static sock_t *socket_call(napi_env env, napi_callback_info info, napi_value *argv, size_t max, size_t n1, size_t n2, const char *usage,
                           size_t *argc, addon_t **ap) {
  *argc = max;
  napi_get_cb_info(env, info, argc, argv, NULL, NULL);
  addon_t *a = get_addon(env);
  if (!a) return NULL;
  if (*argc != n1 && *argc != n2) {
    napi_throw_type_error(env, "E_TFTPIO", usage);
    return NULL;
  }
  if (ap) *ap = a;
  return sock_of(env, a, argv[0]);
}

/* ---- receive ------------------------------------------------------------------------- */

/* ---- receive ------------------------------------------------------------------------- */

static void on_poll(uv_poll_t *h, int status, int events);
static void drop_queue(sock_t *s);
static void send_blocks(sock_t *s, uint32_t first, unsigned char *data, uint32_t len, uint32_t bs, uint32_t count);
static int on_ack(sock_t *s, uint32_t wire, uint32_t *value);

static void watch(sock_t *s, int events) {
  if (events == s->events) return;
  s->events = events;
  uv_poll_start(&s->poll, events, on_poll);
}

static void flush_queue(sock_t *s) {
  while (s->head) {
    pending_t *p = s->head;
    ssize_t n = send(s->fd, p->data, p->len, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) return;
    if (n < 0) s->addon->send_errors++;
    s->head = p->next;
    if (!s->head) s->tail = NULL;
    s->queued_bytes -= p->len;
    free(p);
  }
  watch(s, UV_READABLE);
}

/* Whether the loop has another descriptor ready (a DHCP request, an HTTP or iSCSI connection):
 * a zero-timeout look at libuv's own epoll set. libuv registers its watchers level-triggered
 * (no EPOLLET, no EPOLLONESHOT), so an event seen here is reported again to libuv's next
 * epoll_wait; nothing is consumed. */
static int loop_has_other_work(addon_t *a, int own_fd) {
  struct epoll_event ev[2];
  int n = epoll_wait(uv_backend_fd(a->loop), ev, 2, 0);
  for (int i = 0; i < n; i++)
    if (ev[i].data.fd != own_fd) return 1;
  return 0;
}

/* A lone transfer (the only one in its data phase in the process) waits for its next ACK by
 * polling the socket for up to SPIN_NS instead of sleeping: on a virtual machine whose idle CPUs
 * halt, the wake-up after a sleep costs more than a LAN round trip, and a lockstep client pays it
 * on every block. Bounded on four sides: only while one transfer is active (many clients keep
 * the loop busy anyway), only while nothing else on the loop is ready (loop_has_other_work), at
 * most SPIN_BUDGET_NS per poll callback since `start` (then timers and the rest of the loop
 * run), and a spin that times out makes the transfer sleep for its next SPIN_BACKOFF windows (a
 * slow or distant client costs no CPU). Returns -1, or the length of the datagram read into
 * `slot`. */
static ssize_t spin_recv(sock_t *s, unsigned char *slot, uint64_t start) {
  addon_t *a = s->addon;
  if (s->phase != PHASE_DATA || a->actives != 1 || s->head || s->need) return -1;
  if (s->spin_backoff) {
    s->spin_backoff--;
    return -1;
  }
  uint64_t waited = uv_hrtime();
  if (waited - start > SPIN_BUDGET_NS) return -1;
  for (;;) {
    ssize_t n = recv(s->fd, slot, SLOT_BYTES, MSG_DONTWAIT | MSG_TRUNC);
    if (n >= 0) {
      a->spun++;
      return n;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
    if (uv_hrtime() - waited > SPIN_NS) {
      s->spin_backoff = SPIN_BACKOFF;
      return -1;
    }
    if (loop_has_other_work(a, s->fd)) return -1;
  }
}

/* An event for JS in batch entry i (the caller checked there is room). */
static void put_event(addon_t *a, sock_t *s, int32_t i, int kind, uint32_t value) {
  a->meta[3 * i] = s->id;
  a->meta[3 * i + 1] = (int32_t)value;
  a->meta[3 * i + 2] = kind;
  a->count = i + 1;
}

static int takes_ack(const sock_t *s, const unsigned char *d, ssize_t n) {
  return (s->phase == PHASE_OACK || s->phase == PHASE_DATA) && n >= 4 && d[0] == 0 && d[1] == 4;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  sock_t *s = (sock_t *)h;
  addon_t *a = s->addon;
  if (status < 0) {
    /* EPOLLERR: an ICMP error for this connected socket (port unreachable, fragmentation needed
     * on a smaller-MTU path, or a forged one). libuv has stopped the handle; reading SO_ERROR
     * clears the error, and watching again keeps the transfer alive: the next ACK or the
     * retransmission timer decides, as with any lost datagram. */
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    a->socket_errors++;
    s->events = 0;
    watch(s, s->head ? UV_READABLE | UV_WRITABLE : UV_READABLE);
    return;
  }
  if (events & UV_WRITABLE) flush_queue(s);
  if (!(events & UV_READABLE)) return;
  /* One datagram per poll callback (plus what the spin reads): a transfer socket carries one ACK
   * per window, and a level-triggered poll comes back for the rest (in the next iteration, or in
   * the same poll phase when libuv polls again after a full set of events; arrival order is kept
   * either way). A full batch leaves the datagram in the kernel until then, so every datagram
   * read has an entry for what it produces (itself, or one event). */
  if (a->count >= BATCH_MAX) return;
  int32_t i = a->count;
  unsigned char *slot = a->slab + (size_t)i * SLOT_BYTES;
  uint64_t start = uv_hrtime();
  ssize_t n = recv(s->fd, slot, SLOT_BYTES, MSG_DONTWAIT | MSG_TRUNC);
  for (;;) {
    /* n < 0: EAGAIN (spurious wake-up, or the spin found nothing) or ECONNREFUSED (an ICMP port
     * unreachable for an earlier DATA: the client went away; the retry limit ends it). */
    if (n < 0) return;
    if (!takes_ack(s, slot, n)) break;
    uint32_t value = 0;
    int ev = on_ack(s, (uint32_t)(slot[2] << 8 | slot[3]), &value);
    if (ev) {
      put_event(a, s, i, ev, value);
      return;
    }
    n = spin_recv(s, slot, start);
  }
  a->meta[3 * i] = s->id;
  a->meta[3 * i + 1] = n > SLOT_BYTES ? SLOT_BYTES : (int32_t)n;
  a->meta[3 * i + 2] = n > SLOT_BYTES ? FLAG_CUT : 0;
  a->count = i + 1;
}

/* One JS call for all datagrams and events of the batch: after the poll phase of every loop
 * iteration (on_check), and from the timer at once. */
static void flush(addon_t *a) {
  if (a->count == 0 || a->in_callback) return;
  napi_env env = a->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, argv[1], result;
  napi_get_reference_value(env, a->receiver, &fn);
  napi_get_global(env, &recv); /* napi_make_callback needs an object receiver */
  napi_create_int32(env, a->count, &argv[0]);
  a->in_callback = 1;
  /* napi_make_callback runs queued microtasks and nextTicks afterwards, as Node's own I/O
   * callbacks do. An exception thrown by the receiver is reported as uncaught. */
  napi_status st = napi_make_callback(env, a->async, recv, fn, 1, argv, &result);
  a->in_callback = 0;
  a->count = 0;
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static void on_check(uv_check_t *h) {
  flush((addon_t *)h->data);
}

/* ---- send ---------------------------------------------------------------------------- */

/* ---- send ---------------------------------------------------------------------------- */

static void enqueue(sock_t *s, const struct iovec *iov, int niov) {
  addon_t *a = s->addon;
  size_t len = 0;
  for (int i = 0; i < niov; i++) len += iov[i].iov_len;
  if (s->queued_bytes + len > QUEUE_MAX) {
    a->dropped++;
    return;
  }
  pending_t *p = malloc(sizeof *p + len);
  if (!p) {
    a->dropped++;
    return;
  }
  p->next = NULL;
  p->len = len;
  size_t off = 0;
  for (int i = 0; i < niov; i++) {
    memcpy(p->data + off, iov[i].iov_base, iov[i].iov_len);
    off += iov[i].iov_len;
  }
  if (s->tail) s->tail->next = p;
  else s->head = p;
  s->tail = p;
  s->queued_bytes += len;
  a->queued++;
  watch(s, UV_READABLE | UV_WRITABLE);
}

/* Sends msgs[0..n) in order; what the kernel does not take now is queued. */
static void send_all(sock_t *s, struct mmsghdr *msgs, int n) {
  int done = 0;
  if (!s->head) {
    while (done < n) {
      int r = sendmmsg(s->fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
      if (r > 0) {
        done += r;
        continue;
      }
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) break;
      if (r < 0 && errno == EINTR) continue;
      /* ECONNREFUSED (client gone) or another error: this packet is lost, like any datagram. */
      s->addon->send_errors++;
      done++;
    }
  }
  for (; done < n; done++) enqueue(s, msgs[done].msg_hdr.msg_iov, (int)msgs[done].msg_hdr.msg_iovlen);
}

static int get_buffer(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) {
    napi_throw_type_error(env, "E_TFTPIO", "expected a Buffer");
    return 0;
  }
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out, const char *name) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 4294967295.0 || d != (double)(uint32_t)d) {
    char msg[80];
    snprintf(msg, sizeof msg, "%s must be an integer in 0..2^32-1", name);
    napi_throw_range_error(env, "E_TFTPIO", msg);
    return 0;
  }
  *out = (uint32_t)d;
  return 1;
}

/* Datagrams still queued when a new window goes out are stale: a window is only sent after the
 * previous one was ACKed in full (then the queue is empty) or to re-send after a timeout or a
 * partial ACK (then the queue holds older copies of the same blocks). Sending them as well would
 * put every block twice on a slow link. */
static void drop_queue(sock_t *s) {
  while (s->head) {
    pending_t *p = s->head;
    s->head = p->next;
    free(p);
    s->addon->superseded++;
  }
  s->tail = NULL;
  s->queued_bytes = 0;
}

static void send_blocks(sock_t *s, uint32_t first, unsigned char *data, uint32_t len, uint32_t bs, uint32_t count) {
  drop_queue(s);
  struct mmsghdr msgs[MMSG_MAX];
  struct iovec iov[MMSG_MAX][2];
  unsigned char hdr[MMSG_MAX][4];
  uint32_t k = 0;
  while (k < count) {
    int n = 0;
    for (; n < MMSG_MAX && k < count; n++, k++) {
      uint32_t block = (first + k) & 0xffff;
      uint64_t start = (uint64_t)k * bs; /* < len + bs: callers checked (count-1)*bs <= len */
      uint64_t end = start + bs < len ? start + bs : len;
      hdr[n][0] = 0;
      hdr[n][1] = 3; /* DATA */
      hdr[n][2] = (unsigned char)(block >> 8);
      hdr[n][3] = (unsigned char)block;
      iov[n][0].iov_base = hdr[n];
      iov[n][0].iov_len = 4;
      iov[n][1].iov_base = data + start;
      iov[n][1].iov_len = (size_t)(end - start);
      memset(&msgs[n], 0, sizeof msgs[n]);
      msgs[n].msg_hdr.msg_iov = iov[n];
      msgs[n].msg_hdr.msg_iovlen = end > start ? 2 : 1;
    }
    send_all(s, msgs, n);
  }
}

/* One datagram (OACK, ERROR), in order after anything queued. */
static void send_iov(sock_t *s, struct iovec *iov) {
  struct mmsghdr m;
  memset(&m, 0, sizeof m);
  m.msg_hdr.msg_iov = iov;
  m.msg_hdr.msg_iovlen = 1;
  send_all(s, &m, 1);
}

/* ---- the data phase ------------------------------------------------------------------ */

static void set_phase(sock_t *s, int phase) {
  if ((s->phase == PHASE_DATA) != (phase == PHASE_DATA)) s->addon->actives += phase == PHASE_DATA ? 1 : -1;
  s->phase = phase;
}

static void on_timer(uv_timer_t *t);

/* (Re)arms the retransmission timeout from now. Hot path (once per window): only the deadline
 * moves; the timer, when it fires early, sleeps again for the rest. */
static void arm(sock_t *s) {
  s->deadline_ns = uv_hrtime() + s->timeout_ns;
  if (!s->timer_on) {
    s->timer_on = 1;
    uv_timer_start(&s->timer, on_timer, (s->timeout_ns + 999999) / 1000000, 0);
  }
}

/* Sends the window from block `from` when its bytes are in the provided buffer; otherwise
 * remembers it and returns EVENT_NEED with *value = from. */
static int send_window(sock_t *s, uint32_t from, uint32_t *value) {
  uint64_t wend = (uint64_t)from - 1 + s->ws;
  uint32_t to = wend < s->last ? (uint32_t)wend : s->last;
  uint64_t start = (uint64_t)(from - 1) * s->bs;
  uint64_t end = (uint64_t)to * s->bs < s->size ? (uint64_t)to * s->bs : s->size;
  /* data_ref, not data: an empty file's Buffer may have no data pointer */
  if (!s->data_ref || start < s->data_off || end > s->data_off + s->data_len) {
    s->need = from;
    *value = from;
    return EVENT_NEED;
  }
  s->need = 0;
  send_blocks(s, from, s->data + (start - s->data_off), (uint32_t)(end - start), s->bs, to - from + 1);
  s->sent_to = to;
  arm(s);
  return 0;
}

/* One ACK with wire block number `wire` (RFC 1350: extra bytes after it are ignored, as
 * src/tftp/packet.ts does). Returns 0 or an event (EVENT_NEED with *value, EVENT_DONE). */
static int on_ack(sock_t *s, uint32_t wire, uint32_t *value) {
  if (s->phase == PHASE_OACK) {
    if (wire != 0) {
      s->bad_acks++;
      return 0;
    }
    set_phase(s, PHASE_DATA);
    s->retries = 0;
    return send_window(s, 1, value);
  }
  uint32_t delta = (wire - (s->base & 0xffff)) & 0xffff;
  if (delta == 0) {
    s->dup_acks++;
    return 0;
  }
  uint64_t abs = (uint64_t)s->base + delta;
  if (abs > s->sent_to) {
    s->bad_acks++;
    return 0;
  }
  s->base = (uint32_t)abs;
  s->retries = 0;
  if (abs == s->last) {
    set_phase(s, PHASE_OVER);
    return EVENT_DONE;
  }
  if (abs < s->sent_to) s->retransmits++; /* a partial-window ACK: RFC 7440 go-back */
  else s->windows++;
  return send_window(s, (uint32_t)abs + 1, value);
}

static void on_timer(uv_timer_t *t) {
  sock_t *s = t->data;
  addon_t *a = s->addon;
  s->timer_on = 0;
  if (s->phase != PHASE_OACK && s->phase != PHASE_DATA) return;
  uint64_t now = uv_hrtime();
  if (s->deadline_ns > now + 1000000) {
    s->timer_on = 1;
    uv_timer_start(&s->timer, on_timer, (s->deadline_ns - now + 999999) / 1000000, 0);
    return;
  }
  if (a->count >= BATCH_MAX) { /* no entry for an event in this iteration: look again in 1 ms */
    s->timer_on = 1;
    uv_timer_start(&s->timer, on_timer, 1, 0);
    return;
  }
  s->timeouts++;
  if (++s->retries > s->max_retries) {
    set_phase(s, PHASE_OVER);
    put_event(a, s, a->count, EVENT_TIMEOUT, 0);
    flush(a); /* now: the check phase may be a long poll away (nothing else may be armed) */
    return;
  }
  s->retransmits++;
  arm(s); /* also when the window waits for bytes: a read that never completes ends in a timeout */
  uint32_t value = 0;
  if (s->phase == PHASE_OACK) {
    struct iovec iov = {s->oack, s->oack_len};
    send_iov(s, &iov);
  } else if (send_window(s, s->base + 1, &value)) {
    put_event(a, s, a->count, EVENT_NEED, value);
    flush(a);
  }
}

static void drop_data(napi_env env, sock_t *s) {
  s->data = NULL;
  s->data_len = 0;
  s->data_off = 0;
  if (s->data_ref) {
    napi_delete_reference(env, s->data_ref);
    s->data_ref = NULL;
  }
}

static int get_offset(napi_env env, napi_value v, uint64_t *out, const char *name) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 9007199254740991.0 || d != floor(d)) {
    char msg[80];
    snprintf(msg, sizeof msg, "%s must be an integer in 0..2^53-1", name);
    napi_throw_range_error(env, "E_TFTPIO", msg);
    return 0;
  }
  *out = (uint64_t)d;
  return 1;
}

static napi_value block_value(napi_env env, uint32_t block) {
  napi_value v;
  napi_create_uint32(env, block, &v);
  return v;
}

/* provide(id, offset, buf) -> the block still waiting (0: none). */
static napi_value js_provide(napi_env env, napi_callback_info info) {
  uint64_t off;
  unsigned char *data;
  size_t len;
  napi_value argv[3];
  size_t argc;
  sock_t *s = socket_call(env, info, argv, 3, 3, 3, "provide(id, offset, buf)", &argc, NULL);
  if (!s) return NULL;
  if (!get_offset(env, argv[1], &off, "offset") || !get_buffer(env, argv[2], &data, &len)) return NULL;
  if (!s->data_ref || data != s->data || len != s->data_len) {
    drop_data(env, s);
    if (napi_create_reference(env, argv[2], 1, &s->data_ref) != napi_ok) return NULL;
    s->data = data;
    s->data_len = len;
  }
  s->data_off = off;
  uint32_t value = 0;
  if (s->phase == PHASE_DATA && s->need && send_window(s, s->need, &value)) return block_value(env, value);
  return block_value(env, 0);
}

/* start(id, oack | null, size, blksize, windowsize, timeoutMs, maxRetries) -> the block waiting (0: none). */
static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  size_t argc;
  sock_t *s = socket_call(env, info, argv, 7, 7, 7, "start(id, oack, size, blksize, windowsize, timeoutMs, maxRetries)", &argc, NULL);
  if (!s) return NULL;
  uint64_t size;
  uint32_t bs, ws, timeout_ms, retries;
  napi_valuetype t;
  unsigned char *oack = NULL;
  size_t oack_len = 0;
  if (napi_typeof(env, argv[1], &t) != napi_ok) return NULL;
  if (t != napi_null && !get_buffer(env, argv[1], &oack, &oack_len)) return NULL;
  if (!get_offset(env, argv[2], &size, "size") || !get_u32(env, argv[3], &bs, "blksize") || !get_u32(env, argv[4], &ws, "windowsize") ||
      !get_u32(env, argv[5], &timeout_ms, "timeoutMs") || !get_u32(env, argv[6], &retries, "maxRetries"))
    return NULL;
  /* RFC 2348 blksize 8..65464, RFC 7440 windowsize 1..65535; blocks counted in 32 bits. */
  if (bs < 8 || bs > 65464 || ws == 0 || ws > 65535 || timeout_ms == 0 || size / bs + 1 > MAX_BLOCKS || oack_len > SLOT_BYTES) {
    napi_throw_range_error(env, "E_TFTPIO", "start: blksize, windowsize, timeout, size or OACK out of range");
    return NULL;
  }
  if (s->phase != PHASE_IDLE) {
    napi_throw_error(env, "E_TFTPIO", "start: the data phase has already started");
    return NULL;
  }
  s->size = size;
  s->bs = bs;
  s->ws = ws;
  s->last = (uint32_t)(size / bs + 1);
  s->timeout_ns = (uint64_t)timeout_ms * 1000000;
  s->max_retries = retries;
  uint32_t value = 0;
  if (oack) {
    s->oack = malloc(oack_len ? oack_len : 1);
    if (!s->oack) {
      napi_throw_error(env, "E_TFTPIO", "out of memory");
      return NULL;
    }
    memcpy(s->oack, oack, oack_len);
    s->oack_len = oack_len;
    set_phase(s, PHASE_OACK);
    struct iovec iov = {s->oack, s->oack_len};
    send_iov(s, &iov);
    arm(s);
  } else {
    set_phase(s, PHASE_DATA);
    if (send_window(s, 1, &value)) arm(s); /* the first read that never completes ends in a timeout */
  }
  return block_value(env, value);
}

/* state(id) -> [base, sentTo, windows, dupAcks, retransmits, timeouts, badAcks] */
static napi_value js_state(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc;
  sock_t *s = socket_call(env, info, argv, 1, 1, 1, "state(id)", &argc, NULL);
  if (!s) return NULL;
  double v[7] = {s->base, s->sent_to, s->windows, s->dup_acks, s->retransmits, s->timeouts, s->bad_acks};
  napi_value out, x;
  napi_create_array_with_length(env, 7, &out);
  for (uint32_t i = 0; i < 7; i++) {
    napi_create_double(env, v[i], &x);
    napi_set_element(env, out, i, x);
  }
  return out;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc;
  sock_t *s = socket_call(env, info, argv, 2, 2, 2, "send(id, buf)", &argc, NULL);
  if (!s) return NULL;
  unsigned char *buf;
  size_t len;
  if (!get_buffer(env, argv[1], &buf, &len)) return NULL;
  if (len > 65535) {
    napi_throw_range_error(env, "E_TFTPIO", "send: datagram too long");
    return NULL;
  }
  struct iovec iov = {buf, len};
  send_iov(s, &iov);
  return NULL;
}

/* ---- open / close -------------------------------------------------------------------- */

static int parse_ipv4(napi_env env, napi_value v, struct in_addr *out, const char *name) {
  char text[INET_ADDRSTRLEN + 1];
  size_t n;
  if (napi_get_value_string_utf8(env, v, text, sizeof text, &n) != napi_ok || n >= INET_ADDRSTRLEN || inet_pton(AF_INET, text, out) != 1) {
    char msg[80];
    snprintf(msg, sizeof msg, "%s must be an IPv4 address", name);
    napi_throw_type_error(env, "E_TFTPIO", msg);
    return 0;
  }
  return 1;
}

static int grow_slots(addon_t *a) {
  if (a->nslots > (1 << 24)) return 0;
  int32_t n = a->nslots ? a->nslots * 2 : 64;
  sock_t **slots = realloc(a->slots, sizeof *slots * (size_t)n);
  if (!slots) return 0;
  a->slots = slots;
  int32_t *next = realloc(a->next_free, sizeof *next * (size_t)n);
  if (!next) return 0;
  a->next_free = next;
  for (int32_t i = n - 1; i >= a->nslots; i--) {
    a->slots[i] = NULL;
    a->next_free[i] = a->free_head;
    a->free_head = i;
  }
  a->nslots = n;
  return 1;
}

static void release_slot(addon_t *a, int32_t id) {
  a->slots[id] = NULL;
  a->next_free[id] = a->free_head;
  a->free_head = id;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  addon_t *a = get_addon(env);
  if (!a) return NULL;
  if (argc != 4) {
    napi_throw_type_error(env, "E_TFTPIO", "open(localAddress, remoteAddress, remotePort, sendBufferBytes)");
    return NULL;
  }
  struct sockaddr_in local = {.sin_family = AF_INET}, remote = {.sin_family = AF_INET};
  uint32_t rport, sndbuf;
  if (!parse_ipv4(env, argv[0], &local.sin_addr, "localAddress") || !parse_ipv4(env, argv[1], &remote.sin_addr, "remoteAddress") ||
      !get_u32(env, argv[2], &rport, "remotePort") || !get_u32(env, argv[3], &sndbuf, "sendBufferBytes"))
    return NULL;
  if (sndbuf > 0x7fffffff) {
    napi_throw_range_error(env, "E_TFTPIO", "sendBufferBytes must be below 2 GiB");
    return NULL;
  }
  if (rport == 0 || rport > 65535) {
    napi_throw_range_error(env, "E_TFTPIO", "remotePort must be 1..65535");
    return NULL;
  }
  remote.sin_port = htons((uint16_t)rport);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  /* A window of large blocks is bigger than the default send buffer (SO_SNDBUF: the kernel
   * doubles the value and caps it at net.core.wmem_max; the queue above covers the rest). 0 keeps
   * the kernel's default. */
  if (sndbuf > 0) {
    int v = (int)sndbuf;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  }
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
    int e = errno;
    close(fd);
    throw_errno(env, "bind", e);
    return NULL;
  }
  if (connect(fd, (struct sockaddr *)&remote, sizeof remote) != 0) {
    int e = errno;
    close(fd);
    throw_errno(env, "connect", e);
    return NULL;
  }
  struct sockaddr_in bound;
  socklen_t blen = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &blen);

  if (a->free_head < 0 && !grow_slots(a)) {
    close(fd);
    napi_throw_error(env, "E_TFTPIO", "out of memory");
    return NULL;
  }
  int32_t id = a->free_head;
  a->free_head = a->next_free[id];
  sock_t *s = calloc(1, sizeof *s);
  if (!s || uv_poll_init(a->loop, &s->poll, fd) != 0) {
    free(s); /* a failed uv_poll_init leaves nothing to close */
    close(fd);
    release_slot(a, id);
    napi_throw_error(env, "E_TFTPIO", "cannot watch the socket");
    return NULL;
  }
  uv_timer_init(a->loop, &s->timer); /* cannot fail on Linux */
  s->poll.data = s;
  s->timer.data = s;
  s->handles = 2;
  s->addon = a;
  s->fd = fd;
  s->id = id;
  a->slots[id] = s;
  watch(s, UV_READABLE);

  napi_value out, v;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, id, &v);
  napi_set_element(env, out, 0, v);
  napi_create_int32(env, ntohs(bound.sin_port), &v);
  napi_set_element(env, out, 1, v);
  return out;
}

static void closed_one(addon_t *a);

static void on_closed(uv_handle_t *h) {
  sock_t *s = h->data;
  addon_t *a = s->addon;
  if (--s->handles == 0) {
    close(s->fd);
    while (s->head) {
      pending_t *p = s->head;
      s->head = p->next;
      free(p);
    }
    free(s->oack);
    free(s);
  }
  closed_one(a);
}

static void close_sock(addon_t *a, sock_t *s) {
  int32_t id = s->id;
  set_phase(s, PHASE_OVER); /* a->actives (read by the spin) never counts a closed socket */
  /* Entries of this socket still waiting in the batch must not reach whoever gets the id next. */
  for (int32_t i = 0; i < a->count; i++)
    if (a->meta[3 * i] == id) a->meta[3 * i] = -1;
  release_slot(a, id);
  uv_poll_stop(&s->poll);
  uv_timer_stop(&s->timer);
  a->pending_closes += 2;
  uv_close((uv_handle_t *)&s->poll, on_closed);
  uv_close((uv_handle_t *)&s->timer, on_closed);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc;
  addon_t *a;
  sock_t *s = socket_call(env, info, argv, 1, 1, 1, "close(id)", &argc, &a);
  if (!s) return NULL;
  drop_data(env, s);
  close_sock(a, s);
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  (void)info;
  addon_t *a = get_addon(env);
  if (!a) return NULL;
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_double(env, a->queued, &v);
  napi_set_named_property(env, out, "queued", v);
  napi_create_double(env, a->dropped, &v);
  napi_set_named_property(env, out, "dropped", v);
  napi_create_double(env, a->superseded, &v);
  napi_set_named_property(env, out, "superseded", v);
  napi_create_double(env, a->send_errors, &v);
  napi_set_named_property(env, out, "sendErrors", v);
  napi_create_double(env, a->socket_errors, &v);
  napi_set_named_property(env, out, "socketErrors", v);
  napi_create_double(env, a->spun, &v);
  napi_set_named_property(env, out, "spunWindows", v);
  return out;
}

/* ---- init / teardown ----------------------------------------------------------------- */

/* Environment teardown (process exit, or a worker thread ending) is asynchronous: the addon's
 * code must stay loaded until libuv has run every close callback, so the hook is removed only
 * after the last one (napi_add_async_cleanup_hook; a plain cleanup hook let a worker unload the
 * addon with callbacks still pending, and the worker crashed in uv__finish_close). */
static void finish_teardown(addon_t *a) {
  napi_async_cleanup_hook_handle h = a->teardown;
  free(a->slots);
  free(a->next_free);
  free(a);
  napi_remove_async_cleanup_hook(h);
}

static void closed_one(addon_t *a) {
  if (--a->pending_closes == 0 && a->teardown) finish_teardown(a);
}

static void on_check_closed(uv_handle_t *h) {
  closed_one(h->data);
}

static void teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  addon_t *a = arg;
  a->teardown = handle;
  for (int32_t i = 0; i < a->nslots; i++) {
    sock_t *s = a->slots[i];
    if (s) close_sock(a, s); /* the data's napi_ref goes with the environment */
  }
  if (a->slab) {
    uv_check_stop(&a->check);
    a->pending_closes++;
    uv_close((uv_handle_t *)&a->check, on_check_closed);
  }
  if (a->pending_closes == 0) finish_teardown(a);
}

static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  addon_t *a = NULL;
  napi_get_instance_data(env, (void **)&a);
  napi_valuetype t;
  if (argc != 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, "E_TFTPIO", "init(receiver) takes a function");
    return NULL;
  }
  if (a->slab) {
    napi_throw_error(env, "E_TFTPIO", "tftpio.init() was already called");
    return NULL;
  }
  napi_value slab, metab, meta, name, out;
  void *slabp, *metap;
  if (napi_create_buffer(env, (size_t)BATCH_MAX * SLOT_BYTES, &slabp, &slab) != napi_ok ||
      napi_create_arraybuffer(env, (size_t)BATCH_MAX * 3 * sizeof(int32_t), &metap, &metab) != napi_ok ||
      napi_create_typedarray(env, napi_int32_array, (size_t)BATCH_MAX * 3, metab, 0, &meta) != napi_ok)
    return NULL;
  napi_create_reference(env, argv[0], 1, &a->receiver);
  napi_create_reference(env, slab, 1, &a->slab_ref);
  napi_create_reference(env, metab, 1, &a->meta_ref);
  napi_create_string_utf8(env, "tftpio", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &a->async);
  a->slab = slabp;
  a->meta = metap;
  uv_check_init(a->loop, &a->check);
  a->check.data = a;
  uv_check_start(&a->check, on_check);
  uv_unref((uv_handle_t *)&a->check); /* only the sockets keep the process alive */
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "slab", slab);
  napi_set_named_property(env, out, "meta", meta);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  addon_t *a = calloc(1, sizeof *a);
  if (!a) {
    napi_throw_error(env, "E_TFTPIO", "out of memory");
    return NULL;
  }
  a->env = env;
  a->free_head = -1;
  if (napi_get_uv_event_loop(env, &a->loop) != napi_ok) {
    free(a);
    return NULL;
  }
  napi_set_instance_data(env, a, NULL, NULL);
  napi_add_async_cleanup_hook(env, teardown, a, NULL);
  const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"init", js_init}, {"open", js_open}, {"start", js_start}, {"provide", js_provide}, {"state", js_state}, {"send", js_send}, {"close", js_close}, {"stats", js_stats}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  napi_value v;
  napi_create_int32(env, SLOT_BYTES, &v);
  napi_set_named_property(env, exports, "SLOT_BYTES", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
