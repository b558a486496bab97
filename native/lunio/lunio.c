/*
 * lunio: batched positional writes for the embedded iSCSI target's LUN files (src/iscsi/lun-io.ts,
 * used by src/iscsi/lun-file.ts).
 *
 * Why it exists: Node hands every fs.write/fs.writev to libuv's thread pool as its own request.
 * Scattered 4 KiB writes (a file system's metadata, a database) cannot be gathered into one
 * pwritev, so each cost a thread-pool round trip: the main thread wakes a pool thread, the pool
 * thread wakes the loop (futexes and an eventfd), one callback and one promise per write. strace
 * counted ~6 futex calls per write at 32 in flight. Here the writes waiting at one moment leave
 * as one thread-pool request that runs them one after the other, and come back in one callback.
 *
 * JS API (synchronous argument checks; errors thrown as TypeError):
 *   version: 2 — the API below (src/iscsi/lun-io.ts loads no other: a stale build is left unused).
 *   writeBatch(fd, positions: Float64Array, counts: Uint32Array, buffers: Buffer[], done)
 *     Write i is counts[i] consecutive entries of `buffers` (taken in order), written contiguously
 *     at byte positions[i] of fd with pwritev(2), continued after short writes and EINTR until
 *     every byte is written. The writes run in order on one thread-pool thread. Then
 *     done(errors: Int32Array) runs on the loop: errors[i] is 0, or the errno of write i (a write
 *     that made no progress is EIO). Writes after a failed one still run.
 *     The caller keeps `buffers` alive and unchanged until done runs (their memory is read on the
 *     pool thread; Node never moves a Buffer's bytes).
 *   readCached(fd, buf: Buffer, offset, length, position) -> number
 *     preadv2(2) with RWF_NOWAIT, on the calling (main) thread: the bytes that are in the page
 *     cache now, read into buf[offset, offset+length) from `position`, without waiting for any
 *     I/O. Returns the bytes read (0 at the end of the file), or -errno (-EAGAIN: not all in
 *     memory, nothing read; -EOPNOTSUPP: the kernel or file system cannot; the caller then reads
 *     through the thread pool). A cached 4 KiB read thus costs one syscall instead of a
 *     thread-pool round trip.
 *   writeNow(fd, buffers: Buffer[], position[, slept: Float64Array]) -> number
 *     The buffers written contiguously at `position` with pwritev(2) on the calling (main)
 *     thread, for a small write that would otherwise be a thread-pool round trip (a lone 4 KiB
 *     write at queue depth 1). Buffered writes cannot be asked not to wait (pwritev2 RWF_NOWAIT
 *     is EOPNOTSUPP for buffered writes on ext4), so the one wait that is foreseeable is ruled
 *     out first: a write that covers only part of a page makes the kernel read that page unless
 *     it is cached, so the first and last partial pages are probed with a 1-byte preadv2
 *     RWF_NOWAIT. Returns the bytes written (all of them), -EAGAIN when a partial page is not in
 *     the page cache or there are more than WRITE_NOW_IOV buffers (nothing written: the caller
 *     uses the thread pool), or -errno of a failed write (some bytes may have been written, as
 *     with a failed pwritev). The caller also keeps it away from dirty-page throttling
 *     (src/iscsi/lun-io.ts). Durability is that of any buffered write: the bytes are in the
 *     kernel when it returns; fdatasync makes them stable. With `slept` (at least one element),
 *     slept[0] is set to the voluntary context switches of this thread during the write
 *     (getrusage RUSAGE_THREAD ru_nvcsw): > 0 means the kernel made the write wait (a journal
 *     commit, a page under writeback, a lock), 0 that it never slept — a slow write with 0 was
 *     only preempted (a loaded machine), which says nothing about the file. -1 when unknown.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>
#include <node_api.h>

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif
#define WRITE_NOW_IOV 64

typedef struct {
  napi_async_work work;
  napi_ref done;
  int fd;
  uint32_t n;       /* writes */
  double *pos;      /* n positions */
  uint32_t *counts; /* n buffer counts */
  struct iovec *iov; /* all buffers, in order */
  int32_t *errors;  /* n results */
} batch_t;

static void batch_free(batch_t *b) {
  free(b->pos);
  free(b->counts);
  free(b->iov);
  free(b->errors);
  free(b);
}

/* One write: iov[0..cnt) at pos, until done. Modifies the iovecs (short writes). */
static int write_all(int fd, struct iovec *iov, uint32_t cnt, off_t pos) {
  while (cnt > 0) {
    if (iov->iov_len == 0) {
      iov++;
      cnt--;
      continue;
    }
    int k = cnt > IOV_MAX ? IOV_MAX : (int)cnt;
    ssize_t w = pwritev(fd, iov, k, pos);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    pos += w;
    size_t left = (size_t)w;
    while (cnt > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      iov++;
      cnt--;
    }
    if (left > 0) {
      iov->iov_base = (char *)iov->iov_base + left;
      iov->iov_len -= left;
    }
  }
  return 0;
}

static void execute(napi_env env, void *data) {
  (void)env;
  batch_t *b = data;
  struct iovec *iov = b->iov;
  for (uint32_t i = 0; i < b->n; i++) {
    b->errors[i] = write_all(b->fd, iov, b->counts[i], (off_t)b->pos[i]);
    iov += b->counts[i];
  }
}

static void complete(napi_env env, napi_status status, void *data) {
  batch_t *b = data;
  napi_value cb, global, ab, arr, argv[1];
  napi_get_reference_value(env, b->done, &cb);
  napi_get_global(env, &global);
  void *mem = NULL;
  if (napi_create_arraybuffer(env, (size_t)b->n * 4, &mem, &ab) == napi_ok && napi_create_typedarray(env, napi_int32_array, b->n, ab, 0, &arr) == napi_ok) {
    for (uint32_t i = 0; i < b->n; i++) ((int32_t *)mem)[i] = status == napi_ok ? b->errors[i] : ECANCELED;
    argv[0] = arr;
    napi_call_function(env, global, cb, 1, argv, NULL);
  }
  napi_delete_reference(env, b->done);
  napi_delete_async_work(env, b->work);
  batch_free(b);
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static napi_value js_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  const char *usage = "writeBatch(fd, positions: Float64Array, counts: Uint32Array, buffers: Buffer[], done)";
  if (argc != 5) return throw_type(env, usage);
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_type(env, usage);
  napi_typedarray_type t1, t2;
  size_t n, n2;
  void *pos, *counts;
  bool is;
  if (napi_is_typedarray(env, argv[1], &is) != napi_ok || !is) return throw_type(env, usage);
  if (napi_is_typedarray(env, argv[2], &is) != napi_ok || !is) return throw_type(env, usage);
  napi_get_typedarray_info(env, argv[1], &t1, &n, &pos, NULL, NULL);
  napi_get_typedarray_info(env, argv[2], &t2, &n2, &counts, NULL, NULL);
  if (t1 != napi_float64_array || t2 != napi_uint32_array || n != n2 || n == 0 || n > UINT32_MAX) return throw_type(env, usage);
  uint32_t nbufs;
  if (napi_is_array(env, argv[3], &is) != napi_ok || !is || napi_get_array_length(env, argv[3], &nbufs) != napi_ok) return throw_type(env, usage);
  napi_valuetype vt;
  if (napi_typeof(env, argv[4], &vt) != napi_ok || vt != napi_function) return throw_type(env, usage);
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    double p = ((double *)pos)[i];
    if (!(p >= 0 && p <= 9007199254740991.0) || p != (double)(int64_t)p) return throw_type(env, "writeBatch: a position is not a non-negative integer");
    total += ((uint32_t *)counts)[i];
  }
  if (total != nbufs) return throw_type(env, "writeBatch: the counts do not add up to the number of buffers");
  batch_t *b = calloc(1, sizeof *b);
  if (!b) return throw_type(env, "writeBatch: out of memory");
  b->fd = fd;
  b->n = (uint32_t)n;
  b->pos = malloc(n * sizeof(double));
  b->counts = malloc(n * sizeof(uint32_t));
  b->iov = malloc((nbufs ? nbufs : 1) * sizeof(struct iovec));
  b->errors = calloc(n, sizeof(int32_t));
  if (!b->pos || !b->counts || !b->iov || !b->errors) {
    batch_free(b);
    return throw_type(env, "writeBatch: out of memory");
  }
  memcpy(b->pos, pos, n * sizeof(double));
  memcpy(b->counts, counts, n * sizeof(uint32_t));
  for (uint32_t i = 0; i < nbufs; i++) {
    napi_value e;
    bool isbuf = false;
    void *d;
    size_t len;
    if (napi_get_element(env, argv[3], i, &e) != napi_ok || napi_is_buffer(env, e, &isbuf) != napi_ok || !isbuf ||
        napi_get_buffer_info(env, e, &d, &len) != napi_ok) {
      batch_free(b);
      return throw_type(env, "writeBatch: buffers must hold Buffers only");
    }
    b->iov[i].iov_base = d;
    b->iov[i].iov_len = len;
  }
  napi_value name;
  napi_create_string_utf8(env, "lunio.writeBatch", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[4], 1, &b->done) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, b, &b->work) != napi_ok || napi_queue_async_work(env, b->work) != napi_ok) {
    batch_free(b);
    return throw_type(env, "writeBatch: cannot queue the work");
  }
  return NULL;
}

static napi_value js_read_cached(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  const char *usage = "readCached(fd, buf: Buffer, offset, length, position)";
  if (argc != 5) return throw_type(env, usage);
  int32_t fd;
  bool isbuf = false;
  void *data;
  size_t blen;
  double off, len, pos;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_type(env, usage);
  if (napi_is_buffer(env, argv[1], &isbuf) != napi_ok || !isbuf || napi_get_buffer_info(env, argv[1], &data, &blen) != napi_ok) return throw_type(env, usage);
  if (napi_get_value_double(env, argv[2], &off) != napi_ok || napi_get_value_double(env, argv[3], &len) != napi_ok ||
      napi_get_value_double(env, argv[4], &pos) != napi_ok)
    return throw_type(env, usage);
  if (!(off >= 0 && len >= 0 && pos >= 0 && pos <= 9007199254740991.0) || off != (double)(uint64_t)off || len != (double)(uint64_t)len ||
      pos != (double)(uint64_t)pos || off + len > (double)blen)
    return throw_type(env, "readCached: offset/length outside the buffer, or a bad position");
  struct iovec iov = {(char *)data + (size_t)off, (size_t)len};
  ssize_t r;
  do r = preadv2(fd, &iov, 1, (off_t)pos, RWF_NOWAIT);
  while (r < 0 && errno == EINTR);
  napi_value out;
  napi_create_double(env, r < 0 ? -(double)errno : (double)r, &out);
  return out;
}

/* This thread's voluntary context switches so far, or -1. */
static long voluntary_switches(void) {
  struct rusage ru;
  return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : -1;
}

/* 0 when the page holding byte `pos` is in the page cache (or past the end), else -1. */
static int page_cached(int fd, off_t pos) {
  char b;
  struct iovec v = {&b, 1};
  ssize_t r;
  do r = preadv2(fd, &v, 1, pos, RWF_NOWAIT);
  while (r < 0 && errno == EINTR);
  return r >= 0 ? 0 : -1;
}

static napi_value js_write_now(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  const char *usage = "writeNow(fd, buffers: Buffer[], position[, slept: Float64Array])";
  if (argc != 3 && argc != 4) return throw_type(env, usage);
  double *slept = NULL;
  if (argc == 4) {
    bool ta = false;
    napi_typedarray_type tt;
    size_t tn;
    void *td;
    if (napi_is_typedarray(env, argv[3], &ta) != napi_ok || !ta || napi_get_typedarray_info(env, argv[3], &tt, &tn, &td, NULL, NULL) != napi_ok ||
        tt != napi_float64_array || tn < 1)
      return throw_type(env, usage);
    slept = td;
    *slept = 0;
  }
  int32_t fd;
  bool is;
  uint32_t nbufs;
  double pos;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_type(env, usage);
  if (napi_is_array(env, argv[1], &is) != napi_ok || !is || napi_get_array_length(env, argv[1], &nbufs) != napi_ok) return throw_type(env, usage);
  if (napi_get_value_double(env, argv[2], &pos) != napi_ok || !(pos >= 0 && pos <= 9007199254740991.0) || pos != (double)(int64_t)pos)
    return throw_type(env, "writeNow: the position is not a non-negative integer");
  napi_value out;
  if (nbufs > WRITE_NOW_IOV) {
    napi_create_double(env, -(double)EAGAIN, &out);
    return out;
  }
  struct iovec iov[WRITE_NOW_IOV];
  size_t total = 0;
  for (uint32_t i = 0; i < nbufs; i++) {
    napi_value e;
    bool isbuf = false;
    void *d;
    size_t len;
    if (napi_get_element(env, argv[1], i, &e) != napi_ok || napi_is_buffer(env, e, &isbuf) != napi_ok || !isbuf ||
        napi_get_buffer_info(env, e, &d, &len) != napi_ok)
      return throw_type(env, "writeNow: buffers must hold Buffers only");
    iov[i].iov_base = d;
    iov[i].iov_len = len;
    total += len;
  }
  off_t at = (off_t)pos;
  int err = 0;
  if (total > 0) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0) ps = 4096;
    off_t end = at + (off_t)total;
    /* A partial first or last page is read by the kernel unless cached: that read would block. */
    if ((at % ps != 0 && page_cached(fd, at) != 0) || (end % ps != 0 && page_cached(fd, end - 1) != 0)) {
      napi_create_double(env, -(double)EAGAIN, &out);
      return out;
    }
    long v0 = slept ? voluntary_switches() : -1;
    err = write_all(fd, iov, nbufs, at);
    if (slept) {
      long v1 = v0 < 0 ? -1 : voluntary_switches();
      *slept = v1 < 0 ? -1 : (double)(v1 - v0);
    }
  }
  napi_create_double(env, err ? -(double)err : (double)total, &out);
  return out;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  napi_create_function(env, "writeBatch", NAPI_AUTO_LENGTH, js_write_batch, NULL, &fn);
  napi_set_named_property(env, exports, "writeBatch", fn);
  napi_create_function(env, "readCached", NAPI_AUTO_LENGTH, js_read_cached, NULL, &fn);
  napi_set_named_property(env, exports, "readCached", fn);
  napi_create_function(env, "writeNow", NAPI_AUTO_LENGTH, js_write_now, NULL, &fn);
  napi_set_named_property(env, exports, "writeNow", fn);
  napi_value version;
  napi_create_uint32(env, 2, &version);
  napi_set_named_property(env, exports, "version", version);
  return exports;
}
