// The one list of netroot's error codes: for each code its one-line meaning, its HTTP status and
// its CLI exit code. A leaf: every folder may import it; it imports nothing.
// Constructors in errors.ts take only `ErrorCode`, so a typo or an undocumented code is a compile
// error. docs/errors.md is generated from this table (node scripts/gen-errors-doc.mjs); a test
// fails when it is out of date.
// To add a code: one line, `E_NAME: operator(area, meaning[, status])` for an error the operator
// (or an HTTP client) caused and can fix — exit 2, HTTP 400 unless given — or
// `failure(area, meaning[, status])` for anything else — exit 1, HTTP 500 unless given.
// A few codes are the operator's at one throw site and a failure at another (a missing tool vs. a
// crashed one): the table gives the usual kind, and the unusual site says `user` explicitly.

/** Exit codes of the `netroot` command (docs/errors.md lists them). */
export const EXIT = {
  /** Success. */
  ok: 0,
  /** A failure that is not the operator's input: a crash, a tool that failed, a node that did not answer. */
  failure: 1,
  /** The operator's error: a bad flag, an unknown host, a file that cannot be read; fix and retry. */
  operator: 2,
} as const;

export interface ErrorCodeInfo {
  /** The folder (or subsystem) that raises it; docs/errors.md groups by it. */
  readonly area: string;
  /** One line: what went wrong. */
  readonly meaning: string;
  /** The HTTP status a server answers with (the frontend answers 500 for every failure). */
  readonly status: number;
  /** The CLI exit code: EXIT.operator or EXIT.failure. */
  readonly exit: 1 | 2;
}

const operator = (area: string, meaning: string, status = 400): ErrorCodeInfo => ({ area, meaning, status, exit: EXIT.operator });
const failure = (area: string, meaning: string, status = 500): ErrorCodeInfo => ({ area, meaning, status, exit: EXIT.failure });

export const ERROR_CODES = {
  // power (src/power: BMC drivers and the power runner)
  E_BMC_AUTH: operator('power', 'the BMC refused the user or password'),
  E_BMC_BAD: operator('power', 'invalid BMC entry (driver, address, port, user or secret)'),
  E_BMC_NOT_SET: operator('power', 'the host has no BMC entry (netroot host bmc set)', 404),
  E_BMC_PROTOCOL: failure('power', 'the BMC answered something the driver cannot read', 502),
  E_BMC_TIMEOUT: failure('power', 'the BMC did not answer in time', 504),
  E_BMC_TLS: failure('power', "the BMC's certificate cannot be verified (set insecure-tls on the BMC entry to accept it)", 502),
  E_BMC_UNREACHABLE: failure('power', 'the BMC cannot be reached', 502),
  E_BMC_UNSUPPORTED: operator('power', 'the BMC does not support that action'),
  E_POWER_PARTIAL: failure('power', 'some hosts of a power command failed'),
  // bench (the benchmarks under bench/, not the product)
  E_BENCH_CHILD: failure('bench', 'a benchmark child process exited or was not ready in time'),
  E_BENCH_NETNS: failure('bench', 'a benchmark network namespace link has no carrier'),
  E_BENCH_PARSE: failure('bench', 'a peer tool printed output the benchmark cannot parse'),
  E_BENCH_PERFDHCP: failure('bench', 'perfdhcp failed'),
  // boot
  E_ASSETS_MISSING: operator('boot', 'boot assets (iPXE, pxelinux, kernels) are missing under the boot root'),
  E_BAD_ROOT_UUID: operator('boot', 'root_uuid is not a filesystem UUID'),
  E_BOOT_UNSAFE_VALUE: failure('boot', 'a value has characters a boot script cannot carry'),
  E_INSTALL_SOURCE: operator('boot', 'the install source attribute is neither a boot-root path nor an http(s) URL'),
  E_NO_BOOT_RECORD: operator('boot', 'boot action os but no diskless boot files yet (install the host first)', 409),
  E_NO_ISCSI: operator('boot', 'boot action sanboot but no iSCSI volume allocated', 409),
  E_PATH_REFUSED: operator('boot', 'a boot-file path outside the boot root', 403),
  E_TOKEN_ADDRESS: operator('boot', 'the install token was issued to another address'),
  E_TOKEN_EXPIRED: operator('boot', 'the install token has expired'),
  E_TOKEN_INVALID: operator('boot', 'the install token is not valid'),
  E_TOKEN_USED: operator('boot', 'the install token was already used'),
  // cli
  E_API: failure('cli', 'the frontend answered an HTTP error without a netroot code'),
  E_ATTRIBUTE_NOT_FOUND: operator('cli', 'no such attribute at that scope', 404),
  E_BAD_HOSTLIST: operator('cli', 'a host list is malformed or names too many hosts'),
  E_CONFIRM: operator('cli', 'a destructive command needs --yes'),
  E_FILE_UNREADABLE: operator('cli', 'a file the operator named (--config, --token-file, --kernel) is missing, a directory or unreadable'),
  E_FRONTEND_DOWN: operator('cli', 'the frontend is not running (netroot serve)'),
  E_IMAGE_IN_USE: operator('cli', 'the image is still the os_image of some hosts'),
  E_LAB_RUNNING: operator('cli', 'lab: a lab is already running'),
  E_NO_GRAPHVIZ: operator('cli', 'SVG output needs graphviz'),
  E_ROLL_DIR: operator('cli', 'the roll directory does not exist'),
  E_ROLL_EXISTS: operator('cli', 'a roll of that name is already recorded'),
  E_ROLL_NOT_FOUND: operator('cli', 'no roll recorded under that name'),
  // config
  E_CONFIG_INVALID: operator('config', 'invalid configuration (every problem is listed)'),
  E_PACKAGE_DIR: operator('config', 'the netroot package directory cannot be found'),
  // dhcp
  E_DHCP_COOKIE: failure('dhcp', 'DHCP packet without the magic cookie (dropped)'),
  E_DHCP_HLEN: failure('dhcp', 'DHCP packet with a bad hardware address length (dropped)'),
  E_DHCP_NATIVE: failure('dhcp', 'the SO_BINDTODEVICE helper is missing or unusable (npm run build:native)'),
  E_DHCP_NO_END: failure('dhcp', 'DHCP options without an end option (dropped)'),
  E_DHCP_OP: failure('dhcp', 'DHCP packet with an unknown op (dropped)'),
  E_DHCP_OVERLOAD: failure('dhcp', 'DHCP option 52 (overload) is malformed (dropped)'),
  E_DHCP_SHORT: failure('dhcp', 'DHCP packet shorter than its fixed header (dropped)'),
  E_LISTEN: operator('dhcp', 'a server cannot listen on its address or port (in use, or needs root)'),
  E_ND_OPTION_LENGTH: failure('dhcp', 'IPv6 neighbour-discovery option with a bad length (dropped)'),
  E_ND_TYPE: failure('dhcp', 'ICMPv6 message of an unexpected type (dropped)'),
  E_RA_NATIVE: operator('dhcp', 'the ICMPv6 socket helper is not built (npm run build:native)'),
  E_RA_SOCKET: operator('dhcp', 'router advertisements cannot open their socket'),
  E_RA_STARTED: failure('dhcp', 'the router-advertisement responder is already running'),
  // discovery
  E_VOLUME_AMBIGUOUS: operator('discovery', 'a volume name found on more than one storage node: name the node', 409),
  E_VOLUME_IN_USE: operator('discovery', 'a volume a host still uses cannot be released (?force=1 to release it anyway)', 409),
  E_ADDRESS_EXHAUSTED: operator('discovery', 'no free address left in the network', 422),
  E_APPLIANCE_NOT_FOUND: operator('discovery', 'unknown appliance', 404),
  E_BAD_ATTRIBUTE: operator('discovery', 'not a valid attribute name'),
  E_BAD_BOOT_ACTION: operator('discovery', 'not a known boot action'),
  E_BAD_HOSTNAME: operator('discovery', 'not a valid host name'),
  E_BAD_INC: operator('discovery', '--inc must be a non-zero whole number'),
  E_BAD_NETWORK: operator('discovery', 'not a network'),
  E_BAD_STATE: operator('discovery', 'not a known host state'),
  E_DUPLICATE: operator('discovery', 'a host, appliance or record of that name already exists', 409),
  E_HOST_NOT_FOUND: operator('discovery', 'unknown host', 404),
  E_MAC_KNOWN: operator('discovery', 'the MAC address already belongs to a host', 409),
  E_NOT_FOUND: operator('discovery', 'no such thing (session, file, record)', 404),
  E_NO_INTERFACE: operator('discovery', 'the host has no interface'),
  E_PLUGIN_FAILED: operator('discovery', 'a host plugin failed; the change was rolled back or is reported partial', 422),
  E_PLUGIN_INVALID: operator('discovery', 'a plugin file exports no plugin'),
  E_PLUGIN_TIMEOUT: failure('discovery', 'a plugin did not finish in time'),
  E_SESSION_BUSY: operator('discovery', 'another insert-ethers is already running', 409),
  E_STORAGE_HOST_GONE: failure('discovery', 'the host was removed while its volume was being allocated'),
  E_STORAGE_NODE_UNKNOWN: operator('discovery', "the host's volume is on a storage node that is not configured"),
  E_STORAGE_NOT_FOUND: operator('discovery', 'no such volume (or the host has none)', 404),
  E_STORAGE_RECORD: failure('discovery', "the host's iSCSI attributes are incomplete (insert-ethers --update)"),
  E_STORAGE_ROLLBACK: failure('discovery', 'a storage allocation failed and could not be undone'),
  E_STORAGE_UPDATE: failure('discovery', 'iSCSI allocation failed for some hosts'),
  E_USAGE: operator('discovery', 'bad command line: unknown command, option or argument, or a missing value'),
  // http
  E_METHOD_NOT_ALLOWED: operator('http', 'a REST path asked for with a method it does not serve (the answer lists them in Allow)', 405),
  E_TOO_MANY_LOGINS: operator('http', 'too many dashboard login attempts from this address (http.loginAttemptsPerMinute)', 429),
  E_TOO_MANY_STREAMS: operator('http', 'too many open event streams, from this source or in total (http.apiMaxEventStreams*)', 429),
  E_BAD_PATH: operator('http', 'the path is not valid percent-encoding (RFC 3986 §2.1), e.g. /boot/files/%ff%fe', 400),
  E_BAD_REQUEST: operator('http', 'malformed request body'),
  E_BODY_TOO_LARGE: operator('http', 'request body larger than the limit', 413),
  E_FORBIDDEN: operator('http', 'a per-host file asked for by another host', 403),
  E_HOST_INSTALLED: operator('http', 'kickstart asked for by a host that is installed (boot action os)', 409),
  E_INTERNAL: failure('http', 'an unexpected failure (no detail is sent to the client)'),
  E_MISDIRECTED: operator('http', "a secret-bearing page asked for under a Host name that is not the frontend's (DNS rebinding)", 421),
  E_RANGE_NOT_SATISFIABLE: operator('http', 'no byte of the file satisfies the Range header (Content-Range: bytes */<size> is set)', 416),
  E_UNAUTHORIZED: operator('http', 'a valid API token is required', 401),
  E_UNSUPPORTED_ENCODING: operator('http', 'request bodies with a Content-Encoding are not accepted', 415),
  // image
  E_BAD_IMAGE_NAME: operator('image', 'not a valid image name'),
  E_IMAGE_BUILD: failure('image', 'image build failed'),
  E_IMAGE_CONFIG: operator('image', 'the image build configuration file cannot be read'),
  E_IMAGE_DISTRIBUTION: operator('image', 'image build does not know that distribution'),
  E_IMAGE_DRACUT: failure('image', 'dracut failed inside the image'),
  E_IMAGE_EXISTS: operator('image', 'an image of that name already exists'),
  E_IMAGE_IMPORT: failure('image', "image import failed (a bad archive is the operator's; a full disk is a failure)"),
  E_IMAGE_INCOMPLETE: operator('image', "the image's manifest or files are missing or broken (409 over HTTP, like E_IMAGE_NOT_FOUND)", 409),
  E_IMAGE_INTERRUPTED: failure('image', 'image build or import interrupted: nothing registered'),
  E_IMAGE_MOUNTED: failure('image', 'the image directory has mounts inside it'),
  E_IMAGE_NEEDS_ROOT: operator('image', 'image build/import needs root'),
  E_IMAGE_NOT_A_ROOT: operator('image', 'the given directory is not a root filesystem that can boot diskless'),
  E_IMAGE_NOT_FOUND: operator('image', "no such image (409 over HTTP: the host's state is the problem, not the request)", 409),
  E_IMAGE_PACKAGE: operator('image', 'unknown package name for the image'),
  E_IMAGE_PACKAGES: failure('image', 'the package tool failed inside the image'),
  E_IMAGE_SOURCE: operator('image', 'the import source does not exist'),
  E_IMAGE_SWEEP: failure('image', 'a staging directory cannot be removed'),
  E_IMAGE_TAR: failure('image', 'packing the image root failed'),
  E_IMAGE_TOOL: failure('image', 'an external program an image build needs failed or cannot run'),
  // initrd
  E_CPIO_DECODE: failure('initrd', 'malformed cpio (newc) archive'),
  E_CPIO_DUPLICATE: failure('initrd', 'a path is already in the cpio archive'),
  E_CPIO_ENTRY: failure('initrd', 'a cpio entry cannot be written (name or size out of range)'),
  E_INITRD_INPUT: operator('initrd', 'an input file of an initrd build is missing'),
  E_INITRD_TOOL: failure('initrd', 'a tool an initrd build runs failed'),
  E_MODULES_DEP: failure('initrd', 'malformed modules.dep'),
  E_MODULE_MISSING: operator('initrd', 'the kernel lacks a module the initrd needs'),
  E_NETROOT_ARG: operator('initrd', 'a netroot= kernel argument field is malformed'),
  E_NODE_BOOT_INFO: operator('initrd', "a node's boot information (iSCSI target, CHAP, addresses) is malformed"),
  E_TAR_FIELD: operator('initrd', 'a tar header field does not fit'),
  E_TEMPLATE: failure('initrd', 'an initrd template used an undefined field'),
  E_TEMPLATES_MISSING: failure('initrd', 'the initrd-templates directory is missing'),
  E_TEMPLATE_VALUE: failure('initrd', 'an initrd template value cannot be shell-quoted'),
  // iscsi
  E_ISCSI_CHAP: operator('iscsi', 'CHAP needs a user and a secret'),
  E_ISCSI_DSL: failure('iscsi', 'iSCSI PDU DataSegmentLength beyond the negotiated limit (connection dropped)'),
  E_ISCSI_FIELD: failure('iscsi', 'malformed iSCSI basic header segment (connection dropped)'),
  E_ISCSI_HDIGEST: failure('iscsi', 'iSCSI header digest mismatch (connection dropped)'),
  E_ISCSI_IQN: operator('iscsi', 'invalid iSCSI target name'),
  E_ISCSI_LISTEN: failure('iscsi', 'the iSCSI target cannot listen'),
  E_ISCSI_CLONE_BAD: failure('iscsi', "a clone's map or delta is missing, damaged or already exists"),
  E_ISCSI_CLONE_GOLDEN: failure('iscsi', 'the golden volume changed since the clone was made: the clone is not served'),
  E_ISCSI_LUN: operator('iscsi', 'LUN number out of range'),
  E_ISCSI_LUN_CLOSED: failure('iscsi', 'I/O on a closed volume'),
  E_ISCSI_LUN_PATH: failure('iscsi', 'a LUN backing path is not a regular file'),
  E_ISCSI_LUN_RANGE: failure('iscsi', 'I/O outside the volume'),
  E_ISCSI_LUN_SIZE: failure('iscsi', 'a LUN backing file does not exist and no size was given'),
  E_ISCSI_LUN_WRITE: failure('iscsi', 'a LUN write made no progress'),
  E_ISCSI_OPCODE: failure('iscsi', 'unknown or unexpected iSCSI opcode'),
  E_ISCSI_TEXT: failure('iscsi', 'malformed iSCSI text key=value data'),
  // lab
  E_LAB_ADD: failure('lab', 'lab: insert-ethers gave an unexpected answer'),
  E_LAB_BMC: failure('lab', 'lab: an emulated BMC (ipmi_sim, or the Redfish emulator) is missing, did not start, or failed a power action'),
  E_LAB_BOOT: failure('lab', "lab: a node's boot ended with failed units"),
  E_LAB_BUSYBOX: operator('lab', 'lab: busybox-static is not installed'),
  E_LAB_CLI: failure('lab', 'lab: a netroot command failed'),
  E_LAB_CONSOLE: failure('lab', 'lab: a node console closed before the expected line'),
  E_LAB_DISCOVERY: failure('lab', 'lab: a node was not discovered in time'),
  E_LAB_DOWN: failure('lab', 'lab: the lab is not up (or did not stop)'),
  E_LAB_FRONTEND: failure('lab', 'lab: netroot serve did not start'),
  E_LAB_IMAGE: failure('lab', 'lab: the OS image cannot be linked into the lab'),
  E_LAB_IP: failure('lab', 'lab: an ip(8) command failed'),
  E_LAB_KERNEL: operator('lab', 'lab: no kernel under /boot'),
  E_LAB_MARKER: operator('lab', 'lab: a console marker has characters it cannot carry'),
  E_LAB_MKFS: failure('lab', 'lab: mkfs.ext4 failed'),
  E_LAB_NAME: operator('lab', 'lab: invalid lab name'),
  E_LAB_NODES: operator('lab', 'lab: --nodes out of range'),
  E_LAB_OVMF: operator('lab', 'lab: UEFI firmware (ovmf) is not installed'),
  E_LAB_PEER: failure('lab', 'lab: a peer (dnsmasq, tgtd, httpd) is missing or failed'),
  E_LAB_PERSIST: failure('lab', 'lab: the diskless root did not persist across a reboot'),
  E_LAB_REBOOT: failure('lab', 'lab: the installer did not reboot'),
  E_LAB_ROOT: failure('lab', 'lab: needs root, or a diskless root was not fresh or not on its own iSCSI volume'),
  E_LAB_SHUTDOWN: failure('lab', 'lab: a node did not shut down in time'),
  E_LAB_SSH: failure('lab', 'lab: ssh-keygen or ssh to a node failed'),
  E_LAB_SUBNET: operator('lab', 'lab: the subnet is not a.b.c.d/len within /8../30'),
  E_LAB_TGT: failure('lab', 'lab: tgtd is missing or did not start'),
  E_LAB_TIMEOUT: failure('lab', 'lab: an expected console line did not come in time'),
  // net
  E_BAD_IPV4: operator('net', 'not an IPv4 address'),
  E_BAD_MAC: operator('net', 'not a MAC address'),
  E_DECODE_NO_NUL: failure('net', 'a string in a packet has no terminating NUL'),
  E_DECODE_RANGE: failure('net', 'a read beyond the end of a packet'),
  E_DECODE_SHORT: failure('net', 'a packet shorter than a field it must hold'),
  // profile
  E_COND_SYNTAX: operator('profile', 'bad cond= expression'),
  E_EVAL_DISABLED: operator('profile', '<eval> is disabled (profile.allowEval)'),
  E_EVAL_FAILED: operator('profile', 'an <eval> script failed'),
  E_EVAL_XML: operator('profile', '<eval mode="xml"> printed malformed node XML'),
  E_FILE_TOO_LARGE: operator('profile', 'an included file is larger than the limit'),
  E_GRAPH_CYCLE: operator('profile', "the graph's <order> has a cycle"),
  E_GRAPH_EDGE: operator('profile', 'a graph edge names no node'),
  E_GRAPH_MISSING: operator('profile', 'no graph files'),
  E_GRAPH_TAG: operator('profile', 'unknown tag in a graph file'),
  E_GRAPH_TEXT: operator('profile', 'text where a graph file allows none'),
  E_GRAPH_UNKNOWN_NODE: operator('profile', 'a graph <order> names a node with no node file'),
  E_INCLUDE_MISSING: operator('profile', '<include file> names no file'),
  E_INCLUDE_OUTSIDE: operator('profile', '<include file> leaves the include directory'),
  E_KICKSTART_ATTRIBUTE: operator('profile', 'an attribute the kickstart uses has a value it cannot take'),
  E_KS_SECTION_LINE: operator('profile', 'a line would end its kickstart section early in Anaconda'),
  E_NODE_DUPLICATE: operator('profile', 'a node is defined twice with different content'),
  E_NODE_MISSING: operator('profile', 'a node that is extended or named has no node file'),
  E_PROFILE_INVALID: operator('profile', 'problems in the roles and graph'),
  E_ROLES_MISSING: operator('profile', 'no node files'),
  E_ROLLS_FILE: operator('profile', 'the rolls file is too large or malformed'),
  E_SITE_FILE: operator('profile', 'a site file is neither extend-<node>.xml nor replace-<node>.xml'),
  E_XML_ENTITY: operator('profile', 'an undefined attribute or entity in node XML'),
  E_XML_EVAL_MODE: operator('profile', '<eval mode> is quote or xml'),
  E_XML_FILE_MODE: operator('profile', '<file mode> is create or append'),
  E_XML_FILE_NAME: operator('profile', '<file name> must be an absolute path'),
  E_XML_FILE_OWNER: operator('profile', '<file owner> must be user, user.group or user:group'),
  E_XML_FILE_PERMS: operator('profile', '<file perms> must be a chmod mode'),
  E_XML_FILE_VARS: operator('profile', '<file vars> is literal or expanded'),
  E_XML_INCLUDE: operator('profile', '<include> needs a file attribute'),
  E_XML_MAIN: operator('profile', '<main> holds a tag that is not an Anaconda kickstart command'),
  E_XML_MALFORMED: operator('profile', 'malformed XML'),
  E_XML_PACKAGE: operator('profile', '<package> must expand to one package name'),
  E_XML_READ: operator('profile', 'a node or graph file cannot be read'),
  E_XML_ROOT: operator('profile', 'the root element is not the one expected (<kickstart> or <graph>)'),
  E_XML_SCRIPT_ARG: operator('profile', "a script section's arg expands to more than one line"),
  E_XML_TEXT: operator('profile', 'text outside any tag'),
  E_XML_UNKNOWN_ATTR: operator('profile', 'unknown attribute in node XML'),
  E_XML_UNKNOWN_TAG: operator('profile', 'unknown or misplaced tag in node XML'),
  E_XML_VAR: operator('profile', '<var> needs val or ref'),
  W_IGNORED_TAG: operator('profile', 'warning: a Rocks tag netroot ignores (never thrown)'),
  W_NODE_DUPLICATE: operator('profile', 'warning: a node defined twice with the same content (never thrown)'),
  // rpc
  E_RPC_BAD_PARAMS: operator('rpc', 'bad XML-RPC method parameters'),
  E_XMLRPC_FAULT: failure('rpc', 'the XML-RPC peer answered a fault'),
  E_XMLRPC_LIMITS: failure('rpc', 'XML-RPC limits must be positive integers'),
  E_XMLRPC_MALFORMED: operator('rpc', 'malformed XML-RPC request'),
  E_XMLRPC_VALUE: failure('rpc', 'a value cannot be written as XML-RPC'),
  // storage
  E_STORAGE_AUTH: failure('storage', 'the storage node token is missing or wrong', 401),
  E_STORAGE_BACKEND: failure('storage', 'the export driver (tgtadm, configfs) failed'),
  E_STORAGE_BAD_IQN: operator('storage', 'invalid iSCSI qualified name'),
  E_STORAGE_BAD_JSON: operator('storage', 'the storage request body is not valid JSON'),
  E_STORAGE_BAD_NAME: operator('storage', 'invalid volume name'),
  E_STORAGE_BAD_RESPONSE: failure('storage', 'a storage node answered something unreadable or too large'),
  E_STORAGE_BAD_SECRET: operator('storage', 'CHAP secret of the wrong length'),
  E_STORAGE_BAD_SIZE: operator('storage', 'not a size (number with an optional K/M/G/T/P suffix)'),
  E_STORAGE_BAD_SPEC: operator('storage', 'an export specification is invalid'),
  E_STORAGE_BAD_URL: operator('storage', 'a storage node URL is not http(s)'),
  E_STORAGE_BODY_TOO_LARGE: operator('storage', 'the storage request body is larger than the limit', 413),
  E_STORAGE_DOWN: failure('storage', 'a storage node or export driver is not reachable or not set up', 503),
  E_STORAGE_EXISTS: operator('storage', 'the volume exists with another size', 409),
  E_STORAGE_FULL: operator('storage', 'no storage node has enough free space', 507),
  E_STORAGE_INTERNAL: failure('storage', 'an unexpected failure in the storage service (no detail is sent)'),
  E_STORAGE_IN_USE: operator('storage', 'the volume is exported', 409),
  E_STORAGE_MEDIA_TYPE: operator('storage', 'the storage request body must be application/json', 415),
  E_STORAGE_METHOD: operator('storage', 'method not allowed on that storage endpoint', 405),
  E_STORAGE_NOT_FILE: failure('storage', 'a volume path is not a regular file'),
  E_STORAGE_NO_ROUTE: operator('storage', 'no such storage endpoint', 404),
  E_STORAGE_REMOTE: failure('storage', 'a storage node answered an error without a known code'),
  E_STORAGE_SHRINK: operator('storage', 'shrinking a volume would lose data', 409),
  E_STORAGE_TGT_PARSE: failure('storage', 'unexpected tgtadm output'),
  E_STORAGE_TOKEN: operator('storage', 'the storage service token is too short or cannot be read'),
  E_STORAGE_UNSUPPORTED: operator('storage', 'the export driver cannot enforce that restriction'),
  E_TIMEOUT: operator('storage', 'an operation did not finish in time'),
  // store
  E_APPLIANCE_IN_USE: operator('store', 'the appliance still has hosts', 409),
  E_CONSTRAINT: operator('store', 'rejected by the database (a constraint)'),
  E_STORE_NESTED_TX: failure('store', 'nested store transactions are not supported'),
  E_STORE_IN_TX: failure('store', 'a store call inside transaction() that is not through its tx repositories (it would wait for itself)'),
  E_STORE_OPEN: failure('store', 'the database cannot be created or opened'),
  E_STORE_OPTIONS: failure('store', 'invalid store options'),
  E_STORE_VERSION: failure('store', 'the database schema is newer than this netroot'),
  // tftp
  E_TFTP_ENCODE: failure('tftp', 'a TFTP field cannot be encoded (NUL byte)'),
  E_TFTP_LINK: failure('tftp', 'a TFTP transfer socket cannot be opened'),
  E_TFTP_MODE: failure('tftp', 'TFTP mode other than octet'),
  E_TFTP_NATIVE: operator('tftp', 'the TFTP I/O helper is not built (npm run build:native)'),
  E_TFTP_OPCODE: failure('tftp', 'unknown TFTP opcode (dropped)'),
  E_TFTP_OPTION: failure('tftp', 'malformed TFTP option (dropped)'),
  E_TFTP_SIZE: failure('tftp', 'TFTP packet of a bad size (dropped)'),
} as const satisfies Record<string, ErrorCodeInfo>;

/** Every code netroot raises or answers with. */
export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERROR_CODES, s);
}

/** The table's entry for a code. */
export function errorInfo(code: ErrorCode): ErrorCodeInfo {
  return ERROR_CODES[code];
}
