/*
 * iscsi-lat: per-command latency and read checks over iSCSI from user space, on libiscsi (the
 * initiator library iscsi-perf and QEMU's iscsi driver use), for bench:iscsi.
 *
 *   iscsi-lat URL INITIATOR lat read|write DEPTH SECONDS BLOCKSIZE FILE
 *   iscsi-lat URL INITIATOR verify COUNT BLOCKSIZE FILE
 *   iscsi-lat URL INITIATOR login
 *
 * URL is iscsi://HOST:PORT/IQN/LUN. FILE is the LUN's backing file (the bench runs the targets
 * on this machine): what every target must return is what that file holds.
 *
 * lat: random BLOCKSIZE-aligned READ(16)/WRITE(16) (no FUA) over the whole LUN, DEPTH commands
 *   in flight, for SECONDS. Each command's latency runs from just before iscsi_*_task() queues it
 *   to its completion callback (CLOCK_MONOTONIC), so at DEPTH > 1 it includes the time a command
 *   waits behind the others (fio's total latency, lat = slat + clat). The first 0.2 s are a
 *   warm-up and not counted. Writes carry random bytes. Every 16th read completion is compared
 *   with the same bytes of FILE (pread + memcmp after the timestamp; not part of the latency); a
 *   mismatch fails.
 *   Prints one JSON line: {"ops":N,"iops":X,"p50us":A,"p99us":B,"meanus":C,"maxus":D,"checked":K}.
 * verify: COUNT random BLOCKSIZE-aligned reads, one at a time, each compared with FILE.
 *   Prints {"checked":N,"bytes":B,"mismatches":M}; exit 1 on any mismatch.
 * login: log in, READ CAPACITY(16), log out; prints {"blocks":N,"blockLength":L}. Run with
 *   LIBISCSI_DEBUG=6 in the environment, libiscsi logs each key of the target's login answer
 *   ("TargetLoginReply: K=V") on stderr: the values negotiated, as the initiator sees them.
 *
 * Exit 0 on success; 1 with a message on stderr on any error (login, SCSI status, timeout).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define MAX_DEPTH 256
#define CHECK_EVERY 16
#define WARMUP_NS 200000000ull
/* No completion for this long: the target is stuck; fail rather than hang the bench. */
#define STALL_NS 30000000000ull

static struct iscsi_context *iscsi;
static int lun;
static uint64_t lun_blocks; /* in logical blocks */
static uint32_t block_len;
static int file_fd = -1;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void die(const char *what) {
  fprintf(stderr, "iscsi-lat: %s%s%s\n", what, iscsi ? ": " : "", iscsi ? iscsi_get_error(iscsi) : "");
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* A random LBA aligned to `size` bytes, the whole command inside the LUN. */
static uint64_t random_lba(uint32_t size) {
  uint64_t per = size / block_len;
  uint64_t slots = lun_blocks / per;
  return (xorshift() % slots) * per;
}

/* 1 when `data` equals FILE's bytes at the LBA, 0 otherwise. */
static int matches_file(uint64_t lba, const unsigned char *data, size_t len) {
  static unsigned char ref[1 << 20];
  if (len > sizeof ref) die("check block larger than 1 MiB");
  ssize_t n = pread(file_fd, ref, len, (off_t)(lba * block_len));
  if (n != (ssize_t)len) die("short read of the backing file");
  return memcmp(ref, data, len) == 0;
}

static void connect_lun(const char *url_s, const char *initiator) {
  iscsi = iscsi_create_context(initiator);
  if (!iscsi) die("iscsi_create_context");
  struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_s);
  if (!url) die("bad URL");
  iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
  if (iscsi_set_targetname(iscsi, url->target) != 0) die("target name");
  if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) die("login");
  lun = url->lun;
  iscsi_destroy_url(url);
  struct scsi_task *t = iscsi_readcapacity16_sync(iscsi, lun);
  if (!t || t->status != SCSI_STATUS_GOOD) die("READ CAPACITY(16)");
  struct scsi_readcapacity16 *rc = scsi_datain_unmarshall(t);
  if (!rc) die("READ CAPACITY(16) data");
  lun_blocks = rc->returned_lba + 1;
  block_len = rc->block_length;
  scsi_free_scsi_task(t);
  if (block_len == 0) die("block length 0");
}

struct slot {
  uint64_t start;
  uint64_t lba;
  int busy;
};

static struct {
  int write;
  uint32_t size;
  unsigned char *wbuf;
  struct slot slots[MAX_DEPTH];
  uint64_t *lat;
  size_t nlat, cap;
  uint64_t measure_from, stop_at, last_done;
  uint64_t completions;
  uint64_t checked;
  int inflight;
  int stopping;
} L;

static void submit(struct slot *s);

static void done_cb(struct iscsi_context *ctx, int status, void *command_data, void *private_data) {
  (void)ctx;
  uint64_t t = now_ns();
  struct scsi_task *task = command_data;
  struct slot *s = private_data;
  if (status != SCSI_STATUS_GOOD) {
    fprintf(stderr, "iscsi-lat: %s at LBA %" PRIu64 " failed: status %d, sense key %d asc/ascq 0x%04x\n", L.write ? "WRITE(16)" : "READ(16)",
            s->lba, status, task ? (int)task->sense.key : -1, task ? (unsigned)task->sense.ascq : 0u);
    exit(1);
  }
  if (s->start >= L.measure_from && t <= L.stop_at) {
    if (L.nlat == L.cap) {
      L.cap = L.cap ? L.cap * 2 : 1 << 16;
      L.lat = realloc(L.lat, L.cap * sizeof *L.lat);
      if (!L.lat) die("out of memory");
    }
    L.lat[L.nlat++] = t - s->start;
  }
  L.completions++;
  L.last_done = t;
  if (!L.write && L.completions % CHECK_EVERY == 0) {
    if (task->datain.size != (int)L.size || !matches_file(s->lba, task->datain.data, L.size)) {
      fprintf(stderr, "iscsi-lat: READ(16) at LBA %" PRIu64 " returned data that differs from the backing file\n", s->lba);
      exit(1);
    }
    L.checked++;
  }
  scsi_free_scsi_task(task);
  s->busy = 0;
  L.inflight--;
  if (t < L.stop_at) submit(s);
}

static void submit(struct slot *s) {
  s->lba = random_lba(L.size);
  s->busy = 1;
  L.inflight++;
  s->start = now_ns();
  struct scsi_task *t = L.write ? iscsi_write16_task(iscsi, lun, s->lba, L.wbuf, L.size, (int)block_len, 0, 0, 0, 0, 0, done_cb, s)
                                : iscsi_read16_task(iscsi, lun, s->lba, L.size, (int)block_len, 0, 0, 0, 0, 0, done_cb, s);
  if (!t) die("queueing a command");
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted samples. */
static double pct_us(double p) {
  size_t rank = (size_t)((p / 100.0) * (double)L.nlat + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > L.nlat) rank = L.nlat;
  return (double)L.lat[rank - 1] / 1000.0;
}

static void event_loop_until(int (*finished)(void)) {
  while (!finished()) {
    struct pollfd pfd = {.fd = iscsi_get_fd(iscsi), .events = (short)iscsi_which_events(iscsi)};
    int r = poll(&pfd, 1, 100);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (iscsi_service(iscsi, r > 0 ? pfd.revents : 0) < 0) die("iscsi_service");
    uint64_t t = now_ns();
    if (L.inflight > 0 && t - L.last_done > STALL_NS) die("no completion for 30 s");
  }
}

static int lat_finished(void) { return L.inflight == 0 && now_ns() >= L.stop_at; }

static void run_lat(int write, int depth, double seconds, uint32_t size) {
  if (depth < 1 || depth > MAX_DEPTH) die("DEPTH must be 1..256");
  if (size % block_len != 0 || size > (1u << 20)) die("BLOCKSIZE must be a multiple of the LUN's block length, at most 1 MiB");
  L.write = write;
  L.size = size;
  L.wbuf = malloc(size);
  if (!L.wbuf) die("out of memory");
  for (uint32_t i = 0; i < size; i++) L.wbuf[i] = (unsigned char)xorshift();
  uint64_t t0 = now_ns();
  L.measure_from = t0 + WARMUP_NS;
  L.stop_at = L.measure_from + (uint64_t)(seconds * 1e9);
  L.last_done = t0;
  for (int i = 0; i < depth; i++) submit(&L.slots[i]);
  event_loop_until(lat_finished);
  if (L.nlat == 0) die("no command completed in the measured interval");
  qsort(L.lat, L.nlat, sizeof *L.lat, cmp_u64);
  double sum = 0;
  for (size_t i = 0; i < L.nlat; i++) sum += (double)L.lat[i];
  printf("{\"ops\":%zu,\"iops\":%.1f,\"p50us\":%.1f,\"p99us\":%.1f,\"meanus\":%.1f,\"maxus\":%.1f,\"checked\":%" PRIu64 "}\n", L.nlat,
         (double)L.nlat / seconds, pct_us(50), pct_us(99), sum / (double)L.nlat / 1000.0, (double)L.lat[L.nlat - 1] / 1000.0, L.checked);
}

static void run_verify(long count, uint32_t size) {
  if (size % block_len != 0 || size > (1u << 20)) die("BLOCKSIZE must be a multiple of the LUN's block length, at most 1 MiB");
  long bad = 0;
  for (long i = 0; i < count; i++) {
    uint64_t lba = random_lba(size);
    struct scsi_task *t = iscsi_read16_sync(iscsi, lun, lba, size, (int)block_len, 0, 0, 0, 0, 0);
    if (!t || t->status != SCSI_STATUS_GOOD) die("READ(16)");
    if (t->datain.size != (int)size || !matches_file(lba, t->datain.data, size)) {
      if (bad == 0) fprintf(stderr, "iscsi-lat: READ(16) at LBA %" PRIu64 " differs from the backing file\n", lba);
      bad++;
    }
    scsi_free_scsi_task(t);
  }
  printf("{\"checked\":%ld,\"bytes\":%" PRIu64 ",\"mismatches\":%ld}\n", count, (uint64_t)count * size, bad);
  if (bad) exit(1);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr,
            "usage: iscsi-lat URL INITIATOR lat read|write DEPTH SECONDS BLOCKSIZE FILE\n"
            "       iscsi-lat URL INITIATOR verify COUNT BLOCKSIZE FILE\n"
            "       iscsi-lat URL INITIATOR login\n");
    return 2;
  }
  const char *mode = argv[3];
  rng ^= (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
  if (strcmp(mode, "lat") == 0 && argc == 9) {
    file_fd = open(argv[8], O_RDONLY);
    if (file_fd < 0) die("cannot open the backing file");
    connect_lun(argv[1], argv[2]);
    int write = strcmp(argv[4], "write") == 0;
    if (!write && strcmp(argv[4], "read") != 0) die("lat takes read or write");
    run_lat(write, atoi(argv[5]), atof(argv[6]), (uint32_t)atol(argv[7]));
  } else if (strcmp(mode, "verify") == 0 && argc == 7) {
    file_fd = open(argv[6], O_RDONLY);
    if (file_fd < 0) die("cannot open the backing file");
    connect_lun(argv[1], argv[2]);
    run_verify(atol(argv[4]), (uint32_t)atol(argv[5]));
  } else if (strcmp(mode, "login") == 0 && argc == 4) {
    connect_lun(argv[1], argv[2]);
    printf("{\"blocks\":%" PRIu64 ",\"blockLength\":%u}\n", lun_blocks, block_len);
  } else {
    fprintf(stderr, "iscsi-lat: bad arguments for %s\n", mode);
    return 2;
  }
  iscsi_logout_sync(iscsi);
  iscsi_destroy_context(iscsi);
  return 0;
}
