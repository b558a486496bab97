/*
 * icmp6: a raw ICMPv6 socket per provisioning interface that receives Router Solicitations and
 * sends Router Advertisements, for src/dhcp/ra-responder.ts. Node has no raw sockets; this does
 * the I/O only. What to answer, to whom and how often is decided in TypeScript
 * (src/dhcp/ra-packet.ts builds and checks the bytes).
 *
 * Per socket (RFC 3542 API, RFC 4861 rules):
 *   - socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6), SO_BINDTODEVICE to the interface: only
 *     solicitations that arrived on it are read;
 *   - ICMP6_FILTER passes type 133 (Router Solicitation) only (by default), so the kernel does not queue the
 *     rest of the link's ICMPv6 traffic here;
 *   - joins ff02::2 (all-routers) on the interface: a host that does not forward never joins it,
 *     and the kernel drops multicast for groups nobody joined;
 *   - IPV6_RECVHOPLIMIT: the receiver checks hop limit 255 (RFC 4861 section 6.1.1);
 *   - IPV6_UNICAST_HOPS and IPV6_MULTICAST_HOPS 255 (RFC 4861 section 6.1.2: a receiver drops ND
 *     packets with any other hop limit), IPV6_MULTICAST_IF the interface, no multicast loopback;
 *   - the ICMPv6 checksum is computed by the kernel on send and verified on receive (RFC 3542
 *     section 3.1: always on for IPPROTO_ICMPV6 raw sockets; Linux drops a bad one before recvmsg);
 *   - destinations get the interface as scope id, so the kernel picks the interface's link-local
 *     address as source (RFC 4861 section 4.2: an RA's source must be link-local).
 *
 * JS API (synchronous; errors are thrown as Error with code "E_ICMP6" and, for a failed system
 * call, `errno` = its name, e.g. "EAFNOSUPPORT" when the kernel has no IPv6):
 *   open(ifname, onPacket[, icmpType = 133]) -> id
 *       A socket that receives ICMPv6 type icmpType only (133: it also joins ff02::2; the tests
 *       open a 134 socket to play the node's side).
 *       onPacket(data: Buffer, source: string, hopLimit: number) runs on Node's loop for each
 *       datagram (the ICMPv6 message without the IPv6 header; hopLimit -1 when the kernel gave
 *       none). A datagram longer than MAX_DATAGRAM is dropped here, unread by JS (a valid RS is
 *       8 bytes plus options; a link's MTU bounds it anyway).
 *   send(id, data: Buffer, destination: string) -> void
 *   close(id) -> void        stops watching; the fd is closed once libuv lets go of it
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#define MAX_SOCKS 64
#define MAX_DATAGRAM 1500
#define READS_PER_POLL 32

typedef struct addon addon_t;

typedef struct {
  uv_poll_t poll; /* first: the handle's address is the struct's */
  addon_t *addon;
  int fd;
  int ifindex;
  int32_t id;
  napi_ref on_packet;
} sock_t;

struct addon {
  napi_env env;
  uv_loop_t *loop;
  napi_async_context async;
  sock_t *slots[MAX_SOCKS];
  int pending_closes;
  napi_async_cleanup_hook_handle teardown;
  unsigned char buf[MAX_DATAGRAM + 1];
};

/* Throws Error{code: "E_ICMP6", errno: "<ENAME>"}: callers branch on errno, never on the text. */
static void throw_errno(napi_env env, const char *what, const char *ifname, int e) {
  char msg[160];
  const char *name = strerrorname_np(e) ? strerrorname_np(e) : "EUNKNOWN";
  snprintf(msg, sizeof msg, "%s%s%s: %s (%s)", what, ifname ? " " : "", ifname ? ifname : "", strerror(e), name);
  napi_value code, text, err, en;
  if (napi_create_string_utf8(env, "E_ICMP6", NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, code, text, &err) != napi_ok) {
    napi_throw_error(env, "E_ICMP6", msg);
    return;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &en);
  napi_set_named_property(env, err, "errno", en);
  napi_throw(env, err);
}

static addon_t *get_addon(napi_env env) {
  addon_t *a = NULL;
  napi_get_instance_data(env, (void **)&a);
  return a;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  sock_t *s = (sock_t *)h;
  addon_t *a = s->addon;
  if (status < 0 || !(events & UV_READABLE)) return;
  napi_env env = a->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  for (int i = 0; i < READS_PER_POLL && a->slots[s->id] == s; i++) {
    struct sockaddr_in6 from;
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {a->buf, sizeof a->buf};
    struct msghdr m = {0};
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    ssize_t n = recvmsg(s->fd, &m, MSG_DONTWAIT);
    if (n < 0) break; /* EAGAIN: nothing more this time */
    if (n > MAX_DATAGRAM || (m.msg_flags & MSG_TRUNC) || from.sin6_family != AF_INET6) continue;
    int hop_limit = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int)))
        memcpy(&hop_limit, CMSG_DATA(c), sizeof hop_limit);
    char src[INET6_ADDRSTRLEN];
    if (!inet_ntop(AF_INET6, &from.sin6_addr, src, sizeof src)) continue;
    napi_value fn, recv, argv[3], result;
    void *data;
    if (napi_create_buffer_copy(env, (size_t)n, a->buf, &data, &argv[0]) != napi_ok) break;
    napi_create_string_utf8(env, src, NAPI_AUTO_LENGTH, &argv[1]);
    napi_create_int32(env, hop_limit, &argv[2]);
    napi_get_reference_value(env, s->on_packet, &fn);
    napi_get_global(env, &recv);
    /* napi_make_callback runs microtasks and nextTicks afterwards, as Node's own I/O callbacks
     * do. The JS side catches its own errors; one that escapes is reported as uncaught. */
    napi_status st = napi_make_callback(env, a->async, recv, fn, 3, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
      break;
    }
  }
  napi_close_handle_scope(env, scope);
}

static int set_int(int fd, int level, int name, int v) {
  return setsockopt(fd, level, name, &v, sizeof v);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  addon_t *a = get_addon(env);
  if (!a || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || argc > 3) {
    napi_throw_type_error(env, "E_ICMP6", "open(ifname, onPacket[, icmpType]) takes two or three arguments");
    return NULL;
  }
  int32_t icmp_type = ND_ROUTER_SOLICIT;
  if (argc == 3 && (napi_get_value_int32(env, argv[2], &icmp_type) != napi_ok || icmp_type < 0 || icmp_type > 255)) {
    napi_throw_type_error(env, "E_ICMP6", "icmpType must be an integer 0-255");
    return NULL;
  }
  char ifname[IF_NAMESIZE + 1];
  size_t len = 0;
  napi_valuetype t;
  if (napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok || len == 0 || len >= IF_NAMESIZE) {
    napi_throw_type_error(env, "E_ICMP6", "ifname must be a non-empty interface name shorter than IFNAMSIZ");
    return NULL;
  }
  if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, "E_ICMP6", "onPacket must be a function");
    return NULL;
  }
  int32_t id = -1;
  for (int32_t i = 0; i < MAX_SOCKS; i++)
    if (!a->slots[i]) {
      id = i;
      break;
    }
  if (id < 0) {
    napi_throw_error(env, "E_ICMP6", "too many ICMPv6 sockets");
    return NULL;
  }
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) {
    throw_errno(env, "interface", ifname, errno);
    return NULL;
  }
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0) {
    throw_errno(env, "socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)", NULL, errno);
    return NULL;
  }
  struct icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  ICMP6_FILTER_SETPASS(icmp_type, &filter);
  struct ipv6_mreq mreq;
  memset(&mreq, 0, sizeof mreq);
  inet_pton(AF_INET6, "ff02::2", &mreq.ipv6mr_multiaddr);
  mreq.ipv6mr_interface = ifindex;
  const char *step = NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)(len + 1)) != 0) step = "SO_BINDTODEVICE";
  else if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0) step = "ICMP6_FILTER";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) != 0) step = "IPV6_RECVHOPLIMIT";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255) != 0) step = "IPV6_UNICAST_HOPS";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255) != 0) step = "IPV6_MULTICAST_HOPS";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)ifindex) != 0) step = "IPV6_MULTICAST_IF";
  else if (set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) != 0) step = "IPV6_MULTICAST_LOOP";
  else if (icmp_type == ND_ROUTER_SOLICIT && setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) step = "join ff02::2 on";
  if (step) {
    int e = errno;
    close(fd);
    throw_errno(env, step, ifname, e);
    return NULL;
  }
  sock_t *s = calloc(1, sizeof *s);
  if (!s || uv_poll_init(a->loop, &s->poll, fd) != 0) {
    free(s);
    close(fd);
    napi_throw_error(env, "E_ICMP6", "cannot watch the socket");
    return NULL;
  }
  s->addon = a;
  s->fd = fd;
  s->ifindex = (int)ifindex;
  s->id = id;
  napi_create_reference(env, argv[1], 1, &s->on_packet);
  a->slots[id] = s;
  uv_poll_start(&s->poll, UV_READABLE, on_poll);
  napi_value out;
  napi_create_int32(env, id, &out);
  return out;
}

static sock_t *sock_arg(napi_env env, napi_value v) {
  addon_t *a = get_addon(env);
  int32_t id;
  if (!a || napi_get_value_int32(env, v, &id) != napi_ok || id < 0 || id >= MAX_SOCKS || !a->slots[id]) {
    napi_throw_error(env, "E_ICMP6", "no such ICMPv6 socket");
    return NULL;
  }
  return a->slots[id];
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) {
    napi_throw_type_error(env, "E_ICMP6", "send(id, data, destination) takes three arguments");
    return NULL;
  }
  sock_t *s = sock_arg(env, argv[0]);
  if (!s) return NULL;
  void *data;
  size_t len;
  bool is_buffer = false;
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, "E_ICMP6", "data must be a Buffer");
    return NULL;
  }
  char dst[INET6_ADDRSTRLEN + 1];
  size_t dlen = 0;
  struct sockaddr_in6 to;
  memset(&to, 0, sizeof to);
  to.sin6_family = AF_INET6;
  if (napi_get_value_string_utf8(env, argv[2], dst, sizeof dst, &dlen) != napi_ok || inet_pton(AF_INET6, dst, &to.sin6_addr) != 1) {
    napi_throw_type_error(env, "E_ICMP6", "destination must be an IPv6 address");
    return NULL;
  }
  /* Link-local and multicast destinations are scoped to this interface (RFC 4007). */
  to.sin6_scope_id = (uint32_t)s->ifindex;
  if (sendto(s->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) < 0) {
    throw_errno(env, "sendto", dst, errno);
    return NULL;
  }
  return NULL;
}

static void closed_one(addon_t *a);

static void on_closed(uv_handle_t *h) {
  sock_t *s = (sock_t *)h;
  addon_t *a = s->addon;
  close(s->fd);
  free(s);
  closed_one(a);
}

static void close_sock(addon_t *a, sock_t *s, int delete_ref) {
  a->slots[s->id] = NULL;
  if (delete_ref) napi_delete_reference(a->env, s->on_packet);
  uv_poll_stop(&s->poll);
  a->pending_closes++;
  uv_close((uv_handle_t *)&s->poll, on_closed);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
    napi_throw_type_error(env, "E_ICMP6", "close(id) takes one argument");
    return NULL;
  }
  sock_t *s = sock_arg(env, argv[0]);
  if (!s) return NULL;
  close_sock(s->addon, s, 1);
  return NULL;
}

/* Environment teardown is asynchronous: the addon's code stays loaded until libuv has run every
 * close callback (the same pattern as native/tftpio). */
static void finish_teardown(addon_t *a) {
  napi_async_cleanup_hook_handle h = a->teardown;
  free(a);
  napi_remove_async_cleanup_hook(h);
}

static void closed_one(addon_t *a) {
  if (--a->pending_closes == 0 && a->teardown) finish_teardown(a);
}

static void teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  addon_t *a = arg;
  a->teardown = handle;
  for (int32_t i = 0; i < MAX_SOCKS; i++)
    if (a->slots[i]) close_sock(a, a->slots[i], 0); /* the references go with the environment */
  if (a->pending_closes == 0) finish_teardown(a);
}

static napi_value init(napi_env env, napi_value exports) {
  addon_t *a = calloc(1, sizeof *a);
  if (!a) {
    napi_throw_error(env, "E_ICMP6", "out of memory");
    return NULL;
  }
  a->env = env;
  if (napi_get_uv_event_loop(env, &a->loop) != napi_ok) {
    free(a);
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "icmp6", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &a->async);
  napi_set_instance_data(env, a, NULL, NULL);
  napi_add_async_cleanup_hook(env, teardown, a, NULL);
  const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"open", js_open}, {"send", js_send}, {"close", js_close}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
