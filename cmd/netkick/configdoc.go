package main

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/dhcp"
	"github.com/netkick/netkick/internal/config"
)

// configKeyDoc describes one key of serve's config file for docs/config.md
// and the flag's help: what it does, the values it accepts when they are a
// fixed set, and its default when defaultServeConfig cannot say it (a
// value derived at start). The flag and environment variable are derived
// from the key (serveKeys).
type configKeyDoc struct {
	Desc    string
	Choices []string
	Default string // empty: taken from defaultServeConfig, else "none"
}

// serveConfigDocs documents every key of serveConfig and the structs it
// nests, by dotted path ("[]" marks a list of objects). The test that
// writes docs/config.md fails on a key missing here or named here but gone.
func serveConfigDocs() map[string]configKeyDoc {
	return map[string]configKeyDoc{
		"http":                             {Desc: "HTTP listen address (API, kickstarts, boot configs, web page)"},
		"tftp":                             {Desc: "TFTP listen address; `off` disables TFTP. When the default `:69` cannot be bound, serve goes on without TFTP"},
		"data":                             {Desc: "data directory: `inventory.db`, `admin.token`, `boot/`, `repo/`"},
		"store":                            {Desc: "inventory store URL: `sqlite:///path/inventory.db` or `postgres://HOST[:PORT]/DB` (password from PGPASSFILE or the PG* environment, never in the URL)", Default: "SQLite in `<data>/inventory.db`"},
		"templates":                        {Desc: "directory of templates overriding the built-in ones, file by file", Default: "built-in templates"},
		"public_url":                       {Desc: "base URL installers reach netkick on", Default: "derived from the bound address, the DHCP server's address or the first non-loopback IPv4 address"},
		"token_file":                       {Desc: "admin token file, created (0600) on first start", Default: "`<data>/admin.token`"},
		"repo_root":                        {Desc: "directory of yum repositories published at `/repo/NAME/`", Default: "`<data>/repo`"},
		"log_level":                        {Desc: "how much is logged; a reload (SIGHUP) applies a changed value unless `--log-level` was given", Choices: []string{"debug", "info", "warn", "error"}},
		"log_format":                       {Desc: "log line format on stderr: `text` (slog key=value) or `json` (one JSON object a line). The start-up notices for a person (lines beginning `netkick:`, such as the URLs served and a new admin token) stay plain text", Choices: []string{logText, logJSON}},
		"debug_addr":                       {Desc: "address serving Go's pprof profiles at `/debug/pprof/` (loopback only unless `debug_allow_remote`); empty: off", Default: "off"},
		"debug_allow_remote":               {Desc: "let `debug_addr` be an address other than loopback: pprof shows memory and the command line, and profiling slows the server"},
		"demo":                             {Desc: "load the demo inventory (two LVS directors, two real servers) and put its hosts in build mode"},
		"token_ttl":                        {Desc: "how long a build token stays valid"},
		"boot_root":                        {Desc: "directory served over TFTP and at `/boot/`; fill it with `netkick bootfiles`", Default: "`<data>/boot`"},
		"tftp_max_transfers":               {Desc: "concurrent TFTP transfers; over it clients get an error and retry, the last quarter kept for known hosts", Default: "derived: (hard file-descriptor limit − 256) / 4 and at most memory / 16 / 64 KiB, within 64–16,384 (4,936 at a limit of 20,000); 1,024 when neither can be read"},
		"tftp_max_per_client":              {Desc: "concurrent TFTP transfers from one client address"},
		"token_binding":                    {Desc: "how build tokens are tied to their machine: `strict` (address, and MAC in the neighbour table on attached segments), `address` or `off`", Choices: []string{bindingStrict, bindingAddress, bindingOff}, Default: "`strict` (`off` with `demo`)"},
		"tls_cert":                         {Desc: "PEM certificate (chain) for HTTPS; with `tls_key`, the admin API and the web page are served over HTTPS on `https`, and plain HTTP keeps only what installers fetch. Re-read on reload (SIGHUP)", Default: "none: no HTTPS"},
		"tls_key":                          {Desc: "PEM private key of `tls_cert`", Default: "none"},
		"https":                            {Desc: "HTTPS listen address for the admin API and the web page, used when `tls_cert` and `tls_key` are set"},
		"http_limits.read_header_timeout":  {Desc: "time a client has to send a request's headers"},
		"http_limits.read_timeout":         {Desc: "time a client has to send a whole request, body included"},
		"http_limits.idle_timeout":         {Desc: "how long a keep-alive connection may idle between requests"},
		"http_limits.max_conns_per_client": {Desc: "open HTTP connections from one address; over it a new one is closed"},
		"http_limits.max_conns":            {Desc: "open HTTP connections in all", Default: "derived from the hard file-descriptor limit, less TFTP's share"},
		"dhcp.interface":                   {Desc: "network interface the DHCP server answers on (required unless `dhcp.mode` is off)"},
		"dhcp.mode":                        {Desc: "`full` (addresses and boot files), `proxy` (boot files only, beside another DHCP server) or `off`", Choices: []string{dhcp.ModeFull, dhcp.ModeProxy, dhcp.ModeOff}},
		"dhcp.unknown":                     {Desc: "what DHCP does with MACs not in the inventory: `ignore`, `pool` (give them a pool address) or `discover` (record them in the discovered table and boot them into the discovery environment, on the interfaces and subnets `dhcp.discover` names only; docs/discovery.md)", Choices: []string{dhcp.UnknownIgnore, dhcp.UnknownPool, dhcp.UnknownDiscover}},
		"discovery.kernel":                 {Desc: "kernel discovered machines boot (the site's, under the boot root); with `discovery.initrd` it turns discovery boots on (docs/discovery.md)"},
		"discovery.initrd":                 {Desc: "netkick's discovery initramfs under the boot root (docs/discovery.md says how to build it)"},
		"discovery.kernel_args":            {Desc: "extra kernel arguments of the discovery boot, e.g. `console=ttyS0`"},
		"discovery.after":                  {Desc: "what the discovery environment does once it has reported: `wait` (stay up, idle) or `poweroff`", Choices: []string{boot.AfterWait, boot.AfterPoweroff}},
		"dhcp.discover.interfaces":         {Desc: "interfaces discovery answers on", Default: "`dhcp.interface`"},
		"dhcp.discover.subnets":            {Desc: "networks (CIDRs) whose unknown machines are discovered: the interface's subnet or a relay's; required with `unknown: discover`"},
		"dhcp.discover.max":                {Desc: "bound of the discovered table: beyond it the machine seen longest ago is forgotten"},
		"dhcp.subnets":                     {Desc: "subnets served in full mode: the one on the interface, or ones behind relay agents"},
		"dhcp.subnets[].cidr":              {Desc: "the subnet, e.g. `192.0.2.0/24`"},
		"dhcp.subnets[].pools":             {Desc: "address ranges `first-last` (or single addresses) inside the subnet"},
		"dhcp.subnets[].router":            {Desc: "default gateway handed out"},
		"dhcp.subnets[].dns":               {Desc: "DNS servers handed out"},
		"dhcp.subnets[].domain":            {Desc: "domain name handed out"},
		"dhcp.subnets[].lease":             {Desc: "lease time, at least `1m`", Default: "`1h`"},
		"dhcp.workers":                     {Desc: "size of the DHCP worker pool"},
		"dhcp.relays":                      {Desc: "relay agents (addresses or CIDRs) whose relayed packets are served; others with giaddr set are dropped"},
		"dhcp.offer_rate":                  {Desc: "new offers per second to MACs the inventory does not know, per ingress"},
		"dhcp.offer_burst":                 {Desc: "how many of those offers may come at once"},
		"dhcp.hold_load":                   {Desc: "full mode: the most TFTP transfers in flight before a PXE ROM's DISCOVER waits (known hosts first, then in arrival order) until fewer run; the bound in force adapts below it to the TFTP per-block time, down to 16 × GOMAXPROCS (docs/dhcp.md). iPXE's and installers' DHCP and REQUESTs never wait, nor does proxy mode. `off` (or `0`) never holds", Default: "derived: 64 × GOMAXPROCS (128 on 2 CPUs)"},
		"dhcp.hold_max":                    {Desc: "longest a held DISCOVER waits: one first seen longer ago is answered whatever the load (at most `45s`: firmware gives up after about a minute)"},
	}
}

// configKey is one row of the configuration reference.
type configKey struct {
	Path, Type, Default string
	// Key is the config key the row is, or the list of objects it is part
	// of (dhcp.subnets[].cidr: dhcp.subnets).
	Key config.Key
}

// configRows are the reference's rows: every key, and after a list of
// objects the keys of its objects, with the defaults of def.
func configRows(def serveConfig) []configKey {
	var out []configKey
	for _, k := range serveKeys() {
		row := configKey{Path: k.Path, Type: docTypeName(k), Key: k}
		if v := reflect.ValueOf(k.Value(&def)); !v.IsZero() {
			row.Default = "`" + valueText(v.Interface()) + "`"
		} else if v.Kind() == reflect.Bool {
			row.Default = "`false`"
		}
		out = append(out, row)
		if k.Type.Kind() == reflect.Slice && k.Type.Elem().Kind() == reflect.Struct {
			for _, ek := range config.Keys(k.Type.Elem(), "") {
				out = append(out, configKey{Path: k.Path + "[]." + ek.Path, Type: docTypeName(ek), Key: k})
			}
		}
	}
	return out
}

// valueText writes a default as a config file would: 6h, not 6h0m0s.
func valueText(v any) string {
	if d, ok := v.(time.Duration); ok {
		s := d.String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	}
	return fmt.Sprint(v)
}

// docTypeName is a key's type as the reference shows it.
func docTypeName(k config.Key) string {
	if n := k.TypeName(); n != "duration" {
		return n
	}
	return "duration (`90s`, `24h`)"
}

// configReference renders docs/config.md; it fails on a key without a
// description or a description without a key.
func configReference() (string, error) {
	keys := configRows(defaultServeConfig())
	docs := serveConfigDocs()
	seen := map[string]bool{}
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated from the serve config struct by TestConfigReference; do not edit.
     Regenerate: go test ./cmd/netkick -run TestConfigReference -update -->

` + "`netkick serve`" + ` (and ` + "`netkick check`" + `, which checks what serve would run with) takes
every key below three ways: in the YAML file named by ` + "`--config FILE`" + ` (or
` + "`NETKICK_CONFIG`" + `), as an environment variable, and as a flag. For each key the flag
wins over the environment variable, which wins over the file, which wins over the
default: one mechanism for every key, so a key set in the packaged
` + "`/etc/netkick/netkick.yaml`" + ` can be overridden for one run with ` + "`NETKICK_…=`" + ` or ` + "`--…`" + `.
An empty environment variable counts as unset. An unknown key in the file is an error.

A flag's name is the key's path with ` + "`.`" + ` and ` + "`_`" + ` turned into ` + "`-`" + ` (` + "`dhcp.mode`" + ` is
` + "`--dhcp-mode`" + `), the variable's the path in capitals after ` + "`NETKICK_`" + ` (` + "`NETKICK_DHCP_MODE`" + `).
In a flag or variable a list of strings is comma-separated (` + "`--dhcp-relays 192.0.2.1,192.0.2.2`" + `;
a list flag may also be repeated),
a bool is ` + "`true`" + ` or ` + "`false`" + ` (a bool flag alone means true), and a list of objects is
YAML: ` + "`NETKICK_DHCP_SUBNETS='[{cidr: 192.0.2.0/24, pools: [192.0.2.100-192.0.2.199]}]'`" + `.
A value a key does not accept stops serve with the key, where the value came
from (` + "`flag --token-ttl`" + `, ` + "`environment NETKICK_TOKEN_TTL`" + ` or ` + "`file /etc/netkick/netkick.yaml:12`" + `)
and what the key accepts.

In the file a nested key such as ` + "`dhcp.mode`" + ` is written as a block:

` + "```yaml" + `
http: ":8080"
log_format: json
http_limits:
  idle_timeout: 2m
dhcp:
  interface: eth1
  mode: full
  subnets:
    - cidr: 192.0.2.0/24
      pools: ["192.0.2.100-192.0.2.199"]
      router: 192.0.2.1
` + "```" + `

On reload (SIGHUP) ` + "`log_level`" + ` applies at once and the TLS certificate and key are read
again; a change to any other key is logged as needing a restart. HTTPS is described in
[security.md](security.md#https-for-the-admin-api-and-the-web-page); every command and
flag is in [cli.md](cli.md).

| key | type | default | flag | environment | meaning |
|---|---|---|---|---|---|
`)
	for _, k := range keys {
		d, ok := docs[k.Path]
		if !ok {
			return "", fmt.Errorf("config key %s has no entry in serveConfigDocs (cmd/netkick/configdoc.go): describe it there", k.Path)
		}
		seen[k.Path] = true
		def := d.Default
		if def == "" {
			def = k.Default
		}
		if def == "" {
			def = "none"
		}
		flag, env := "`--"+k.Key.Flag+"`", "`"+k.Key.Env+"`"
		if k.Key.Path != k.Path {
			flag, env = "in "+flag, "in "+env
		}
		desc := d.Desc
		if len(d.Choices) > 0 {
			desc += " (one of `" + strings.Join(d.Choices, "`, `") + "`)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", k.Path, k.Type, def, flag, env, desc)
	}
	for p := range docs {
		if !seen[p] {
			return "", fmt.Errorf("serveConfigDocs describes %s, which the config struct does not have: remove it", p)
		}
	}
	return b.String(), nil
}
