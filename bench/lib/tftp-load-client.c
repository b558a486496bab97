/*
 * tftp-load-client: N TFTP read transfers at once from ONE process (epoll), for bench:tftp (b).
 *
 *   tftp-load-client SERVER_IP FILE BLKSIZE N REFERENCE
 *
 * Why not N curls: on this 2-vCPU machine, 100 curl processes and the server share the CPUs,
 * and the server spends its time being preempted by the clients it wakes (about one preemption
 * per four blocks, for dnsmasq and netroot alike), so the curl figure measures the scheduler.
 * One client process that stays busy across N transfers needs few wake-ups and leaves the
 * server's CPU to the server, as client machines on a real network do.
 *
 * Each transfer is a real RFC 1350 client with its own socket (its own TID): RRQ "octet" with
 * the RFC 2348 blksize option; an OACK (RFC 2347) is answered with ACK 0; DATA n+1 is written at
 * its offset in OUTDIR/<i>.bin and ACKed; a duplicate DATA is ACKed again (RFC 1350 section 6);
 * the first reply's address is the transfer's peer (the socket is then connected to it, so
 * datagrams from any other TID are dropped by the kernel); 16-bit block numbers wrap; a DATA
 * shorter than BLKSIZE ends the transfer. No reply for 1 s resends the last packet, 10 times.
 *
 * Every body is checked byte for byte: each DATA block is compared with the same bytes of
 * REFERENCE (the file the servers serve, read into memory first), and a transfer counts as ok
 * only if every block matched and its length is the reference's. Nothing is written to disk:
 * writing 100 bodies to tmpfs took a quarter of this client's CPU, which the server it measures
 * would then share.
 *
 * Prints one line: {"ok":<n>,"failed":<n>,"ms":<wall>,"cpuMs":<own CPU>,"error":"<first failure>"};
 * exit 0 when every transfer completed with the reference's bytes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { OP_RRQ = 1, OP_DATA = 3, OP_ACK = 4, OP_ERROR = 5, OP_OACK = 6 };
enum { RESEND_MS = 1000, SCAN_MS = 100, MAX_RESENDS = 10, MAX_PACKET = 65468 };

typedef struct {
  int sock;
  int done, failed, connected, resends;
  uint16_t expect;   /* next DATA block number (16-bit, wraps) */
  uint64_t blocks;   /* DATA blocks received, for the offset in the reference */
  size_t blksize;
  uint8_t last[600]; /* the last packet sent (RRQ or ACK), for resends */
  size_t last_len;
  int64_t last_ms;
} xfer_t;

static struct sockaddr_in server;
static size_t requested_blksize;
static uint8_t *reference;
static size_t reference_len;
static char first_error[200];
static int open_count; /* transfers neither done nor failed */

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void fail(xfer_t *x, const char *why) {
  if (x->done || x->failed) return;
  x->failed = 1;
  open_count--;
  if (x->sock >= 0) close(x->sock); /* out of the epoll set, or level-triggered epoll spins on it */
  x->sock = -1;
  if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", why);
}

static void send_last(xfer_t *x) {
  ssize_t n = x->connected ? send(x->sock, x->last, x->last_len, 0)
                           : sendto(x->sock, x->last, x->last_len, 0, (struct sockaddr *)&server, sizeof server);
  if (n < 0 && errno != EAGAIN && errno != ENOBUFS) fail(x, strerror(errno));
  x->last_ms = now_ms();
}

static void send_ack(xfer_t *x, uint16_t block) {
  x->last[0] = 0, x->last[1] = OP_ACK, x->last[2] = block >> 8, x->last[3] = block & 0xff;
  x->last_len = 4;
  send_last(x);
}

/* The option value of `name` in an OACK body (NUL-separated pairs), or NULL. Bounds-checked. */
static const char *oack_option(const uint8_t *p, size_t len, const char *name) {
  size_t i = 0;
  while (i < len) {
    const uint8_t *k = p + i;
    const uint8_t *kend = memchr(k, 0, len - i);
    if (!kend) return NULL;
    size_t vi = (size_t)(kend - p) + 1;
    if (vi >= len) return NULL;
    const uint8_t *vend = memchr(p + vi, 0, len - vi);
    if (!vend) return NULL;
    if (strcasecmp((const char *)k, name) == 0) return (const char *)(p + vi);
    i = (size_t)(vend - p) + 1;
  }
  return NULL;
}

static void on_packet(xfer_t *x, const uint8_t *p, size_t n, const struct sockaddr_in *from) {
  if (n < 4) return fail(x, "short packet");
  if (!x->connected) {
    /* The first reply names the transfer's TID (RFC 1350 section 4): talk only to it from now on. */
    if (from->sin_addr.s_addr != server.sin_addr.s_addr) return;
    if (connect(x->sock, (const struct sockaddr *)from, sizeof *from) < 0) return fail(x, strerror(errno));
    x->connected = 1;
  }
  uint16_t op = (uint16_t)(p[0] << 8 | p[1]);
  if (op == OP_ERROR) {
    char msg[160];
    snprintf(msg, sizeof msg, "server error %u: %.*s", (unsigned)(p[2] << 8 | p[3]), (int)(n > 4 ? n - 5 : 0), (const char *)p + 4);
    return fail(x, msg);
  }
  if (op == OP_OACK) {
    if (x->blocks || x->expect != 1) return; /* a late duplicate OACK */
    const char *b = oack_option(p + 2, n - 2, "blksize");
    if (b) x->blksize = (size_t)atoi(b);
    /* RFC 2348: the server may lower the size it was offered, never raise it; 8 is the minimum. */
    if (x->blksize < 8 || x->blksize > requested_blksize) return fail(x, "bad blksize in OACK");
    x->resends = 0;
    return send_ack(x, 0);
  }
  if (op != OP_DATA) return fail(x, "unexpected opcode");
  uint16_t block = (uint16_t)(p[2] << 8 | p[3]);
  size_t len = n - 4;
  if (block == (uint16_t)(x->expect - 1)) return send_ack(x, block); /* duplicate: ACK again */
  if (block != x->expect) return;                                   /* stray: ignore */
  if (len > x->blksize) return fail(x, "DATA longer than blksize");
  uint64_t off = x->blocks * x->blksize;
  if (off + len > reference_len || memcmp(reference + off, p + 4, len) != 0) return fail(x, "body differs from the reference");
  x->blocks++;
  x->expect++;
  x->resends = 0;
  send_ack(x, block);
  if (len < x->blksize) {
    if (off + len != reference_len) return fail(x, "body shorter than the reference");
    x->done = 1;
    open_count--;
    close(x->sock);
    x->sock = -1;
  }
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: tftp-load-client SERVER_IP FILE BLKSIZE N REFERENCE\n");
    return 2;
  }
  memset(&server, 0, sizeof server);
  server.sin_family = AF_INET;
  server.sin_port = htons(69);
  if (inet_pton(AF_INET, argv[1], &server.sin_addr) != 1) return fprintf(stderr, "bad server address\n"), 2;
  const char *file = argv[2];
  long want_blk = atol(argv[3]);
  int count = atoi(argv[4]);
  if (want_blk < 8 || want_blk > MAX_PACKET || count < 1 || count > 10000 || strlen(file) > 400)
    return fprintf(stderr, "bad arguments\n"), 2;
  requested_blksize = (size_t)want_blk;

  int rfd = open(argv[5], O_RDONLY);
  struct stat st;
  if (rfd < 0 || fstat(rfd, &st) < 0) return perror(argv[5]), 1;
  reference_len = (size_t)st.st_size;
  reference = malloc(reference_len + 1);
  if (!reference) return perror("malloc"), 1;
  for (size_t got = 0; got < reference_len;) {
    ssize_t r = read(rfd, reference + got, reference_len - got);
    if (r <= 0) return perror("read"), 1;
    got += (size_t)r;
  }
  close(rfd);

  int ep = epoll_create1(0);
  xfer_t *xs = calloc((size_t)count, sizeof *xs);
  if (ep < 0 || !xs) return perror("setup"), 1;
  int64_t t0 = now_ms();
  for (int i = 0; i < count; i++) {
    xfer_t *x = &xs[i];
    x->sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (x->sock < 0) return perror("socket"), 1;
    x->expect = 1;
    x->blksize = 512; /* RFC 1350's, until an OACK says otherwise */
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, x->sock, &ev) < 0) return perror("epoll_ctl"), 1;
    /* RRQ: opcode, file, "octet", "blksize", value (RFC 1350 section 5, RFC 2348). */
    int n = snprintf((char *)x->last + 2, sizeof x->last - 2, "%s%coctet%cblksize%c%ld", file, 0, 0, 0, want_blk);
    x->last[0] = 0, x->last[1] = OP_RRQ;
    x->last_len = (size_t)n + 3; /* + opcode + the value's NUL */
    x->last[x->last_len - 1] = 0;
    send_last(x);
  }

  open_count = count;
  int64_t last_scan = now_ms();
  static uint8_t buf[MAX_PACKET + 4];
  struct epoll_event evs[256];
  while (open_count > 0) {
    int n = epoll_wait(ep, evs, 256, 100);
    if (n < 0 && errno != EINTR) return perror("epoll_wait"), 1;
    for (int e = 0; e < n; e++) {
      xfer_t *x = &xs[evs[e].data.u32];
      while (x->sock >= 0 && !x->failed) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(x->sock, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (r < 0) {
          if (errno != EAGAIN && errno != EINTR) fail(x, strerror(errno));
          break;
        }
        on_packet(x, buf, (size_t)r, &from);
      }
    }
    /* Resends: a look at every transfer each SCAN_MS, not after every batch of datagrams. */
    int64_t t = now_ms();
    if (t - last_scan < SCAN_MS) continue;
    last_scan = t;
    for (int i = 0; i < count; i++) {
      xfer_t *x = &xs[i];
      if (x->done || x->failed) continue;
      if (t - x->last_ms >= RESEND_MS) {
        if (++x->resends > MAX_RESENDS) {
          fail(x, "timed out");
          continue;
        }
        send_last(x);
      }
    }
  }
  int ok = 0;
  for (int i = 0; i < count; i++) {
    ok += xs[i].done;
    if (xs[i].sock >= 0) close(xs[i].sock);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long long cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
  printf("{\"ok\":%d,\"failed\":%d,\"ms\":%lld,\"cpuMs\":%lld,\"error\":\"", ok, count - ok, (long long)(now_ms() - t0), cpu_ms);
  for (const char *c = first_error; *c; c++) putchar(*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '?' : *c);
  printf("\"}\n");
  return ok == count ? 0 : 1;
}
