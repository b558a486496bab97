// Versioned schema migrations, applied in order inside one transaction each; the applied version
// is PRAGMA user_version. Never edit a released migration: add a new one.

export const MIGRATIONS: readonly string[] = [
  // 1: the cluster database
  `
  CREATE TABLE appliances (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    basename TEXT NOT NULL,
    graph TEXT NOT NULL,
    root_node TEXT NOT NULL,
    discoverable INTEGER NOT NULL DEFAULT 1
  );
  CREATE TABLE hosts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    appliance_id INTEGER NOT NULL REFERENCES appliances(id),
    basename TEXT NOT NULL,
    rack INTEGER NOT NULL CHECK (rack >= 0),
    rank INTEGER NOT NULL CHECK (rank >= 0),
    os TEXT NOT NULL,
    arch TEXT NOT NULL,
    boot_action TEXT NOT NULL CHECK (boot_action IN ('install','os','local','sanboot')),
    state TEXT NOT NULL,
    state_detail TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (basename, rack, rank)
  );
  CREATE TABLE interfaces (
    id INTEGER PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    mac TEXT NOT NULL UNIQUE,
    ip TEXT UNIQUE,
    subnet TEXT,
    device TEXT NOT NULL
  );
  CREATE TABLE attributes (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('global','os','appliance','host')),
    target TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (scope, target, name)
  );
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    host TEXT,
    mac TEXT,
    detail TEXT NOT NULL
  );
  CREATE INDEX events_kind ON events(kind, id);
  CREATE TABLE boot (
    host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    kernel TEXT NOT NULL,
    initrd TEXT NOT NULL,
    overlay TEXT,
    args TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  -- The shipped appliances (roles/ and graphs/default). Both name hosts compute-<rack>-<rank>, so a
  -- diskless and a disked compute node can never share a name.
  INSERT INTO appliances (name, basename, graph, root_node, discoverable) VALUES
    ('compute', 'compute', 'default', 'compute', 1),
    ('compute-diskless', 'compute', 'default', 'compute-diskless', 1);
  `,
  // 2: single-use install tokens (only a SHA-256 of the token is stored)
  `
  CREATE TABLE install_tokens (
    token_hash TEXT PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
  );
  CREATE INDEX install_tokens_host ON install_tokens(host_id);
  `,
  // 3: compute-diskless nodes get an iSCSI root volume (the iscsi-allocation plugin reads `diskless`)
  `
  INSERT OR IGNORE INTO attributes (scope, target, name, value) VALUES ('appliance', 'compute-diskless', 'diskless', 'true');
  `,
  // 4: each host's BMC for power control (src/power): the secret is kept like a CHAP secret (the
  // database is 0600) and masked in every answer; the row goes with its host (ON DELETE CASCADE) and
  // follows it through any change of name (keyed by host id).
  `
  CREATE TABLE bmcs (
    host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    driver TEXT NOT NULL CHECK (driver IN ('ipmi','redfish')),
    address TEXT NOT NULL,
    port INTEGER CHECK (port IS NULL OR (port BETWEEN 1 AND 65535)),
    user TEXT NOT NULL,
    secret TEXT NOT NULL,
    insecure_tls INTEGER NOT NULL DEFAULT 0,
    system_id TEXT,
    updated_at TEXT NOT NULL
  );
  `,
  // 5: the netroot servers sharing this database (issue #21): each `netroot serve` beats here;
  // timestamps come from the database's clock, so one server's wrong clock does not mark it stale.
  `
  CREATE TABLE servers (
    id TEXT PRIMARY KEY,
    host_name TEXT NOT NULL,
    addresses TEXT NOT NULL,
    pid INTEGER NOT NULL,
    version TEXT NOT NULL,
    started_at TEXT NOT NULL,
    last_beat TEXT NOT NULL
  );
  `,
  // 6: a host's interfaces by host id — every hosts.get/list/byMac joins on it; without the index
  // each was a scan of all interfaces (bench:scale: insert-ethers ~3 hosts/s at 10,000 hosts).
  `
  CREATE INDEX IF NOT EXISTS interfaces_host ON interfaces(host_id);
  `,
];
