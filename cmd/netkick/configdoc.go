package main

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/netkick/netkick/dhcp"
	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/tftp"
)

// configKeyDoc describes one key of serve's config file for docs/config.md:
// what it does, the flag and environment variable that also set it, and its
// default when the zero value of the field is not what serve uses.
type configKeyDoc struct {
	Desc    string
	Flag    string // without the leading --
	Env     string
	Default string // empty: taken from defaultServeConfig, else "none"
}

// serveConfigDocs documents every key of serveConfig and the structs it
// nests, by dotted path ("[]" marks a list of objects). The test that
// writes docs/config.md fails on a key missing here or named here but gone.
func serveConfigDocs() map[string]configKeyDoc {
	code := func(v any) string { return fmt.Sprintf("`%v`", v) }
	return map[string]configKeyDoc{
		"http":                             {Desc: "HTTP listen address (API, kickstarts, boot configs, web page)", Flag: "http"},
		"tftp":                             {Desc: "TFTP listen address; `off` disables TFTP. When the default `:69` cannot be bound, serve goes on without TFTP", Flag: "tftp"},
		"data":                             {Desc: "data directory: `inventory.db`, `admin.token`, `boot/`, `repo/`", Flag: "data", Env: "NETKICK_DATA"},
		"store":                            {Desc: "inventory store URL: `sqlite:///path/inventory.db` or `postgres://HOST[:PORT]/DB` (password from PGPASSFILE or the PG* environment, never in the URL)", Flag: "store", Default: "SQLite in `<data>/inventory.db`"},
		"templates":                        {Desc: "directory of templates overriding the built-in ones, file by file", Flag: "templates", Default: "built-in templates"},
		"public_url":                       {Desc: "base URL installers reach netkick on", Flag: "public-url", Default: "derived from the bound address, the DHCP server's address or the first non-loopback IPv4 address"},
		"token_file":                       {Desc: "admin token file, created (0600) on first start", Flag: "token-file", Default: "`<data>/admin.token`"},
		"repo_root":                        {Desc: "directory of yum repositories published at `/repo/NAME/`", Flag: "repo-root", Default: "`<data>/repo`"},
		"log_level":                        {Desc: "`debug`, `info`, `warn` or `error`; a reload (SIGHUP) applies a changed value unless `--log-level` was given", Flag: "log-level"},
		"log_format":                       {Desc: "log line format on stderr: `text` (slog key=value) or `json` (one JSON object a line). The start-up notices for a person (lines beginning `netkick:`, such as the URLs served and a new admin token) stay plain text", Flag: "log-format"},
		"debug_addr":                       {Desc: "address serving Go's pprof profiles at `/debug/pprof/` (loopback only unless `debug_allow_remote`); empty: off", Flag: "debug-addr", Default: "off"},
		"debug_allow_remote":               {Desc: "let `debug_addr` be an address other than loopback: pprof shows memory and the command line, and profiling slows the server", Flag: "debug-allow-remote"},
		"demo":                             {Desc: "load the demo inventory (two LVS directors, two real servers) and put its hosts in build mode", Flag: "demo"},
		"token_ttl":                        {Desc: "how long a build token stays valid", Flag: "token-ttl", Default: code(httpd.DefaultTokenTTL)},
		"boot_root":                        {Desc: "directory served over TFTP and at `/boot/`; fill it with `netkick bootfiles`", Flag: "boot-root", Default: "`<data>/boot`"},
		"tftp_max_transfers":               {Desc: "concurrent TFTP transfers; over it clients get an error and retry", Flag: "tftp-max-transfers", Default: code(tftp.DefaultMaxTransfers)},
		"tftp_max_per_client":              {Desc: "concurrent TFTP transfers from one client address", Flag: "tftp-max-per-client", Default: code(tftp.DefaultMaxPerClient)},
		"token_binding":                    {Desc: "how build tokens are tied to their machine: `strict` (address, and MAC in the neighbour table on attached segments), `address` or `off`", Flag: "token-binding", Default: "`strict` (`off` with `demo`)"},
		"http_limits.read_header_timeout":  {Desc: "time a client has to send a request's headers", Default: code(httpd.DefaultReadHeaderTimeout)},
		"http_limits.read_timeout":         {Desc: "time a client has to send a whole request, body included", Default: code(httpd.DefaultReadTimeout)},
		"http_limits.idle_timeout":         {Desc: "how long a keep-alive connection may idle between requests", Default: code(httpd.DefaultIdleTimeout)},
		"http_limits.max_conns_per_client": {Desc: "open HTTP connections from one address; over it a new one is closed", Default: code(httpd.DefaultMaxConnsPerClient)},
		"http_limits.max_conns":            {Desc: "open HTTP connections in all", Default: "derived from the hard file-descriptor limit, less TFTP's share"},
		"dhcp.interface":                   {Desc: "network interface the DHCP server answers on (required unless `dhcp.mode` is off)", Flag: "dhcp-interface"},
		"dhcp.mode":                        {Desc: "`full` (addresses and boot files), `proxy` (boot files only, beside another DHCP server) or `off`", Flag: "dhcp-mode", Default: "`off`"},
		"dhcp.unknown":                     {Desc: "what DHCP does with MACs not in the inventory: `ignore`, `pool` (give them a pool address) or `discover` (record them in the discovered table and boot them into the discovery environment, on the interfaces and subnets `dhcp.discover` names only; docs/discovery.md)", Default: "`ignore`"},
		"dhcp.discover.interfaces":         {Desc: "interfaces discovery answers on", Default: "`dhcp.interface`"},
		"dhcp.discover.subnets":            {Desc: "networks (CIDRs) whose unknown machines are discovered: the interface's subnet or a relay's; required with `unknown: discover`"},
		"dhcp.discover.max":                {Desc: "bound of the discovered table: beyond it the machine seen longest ago is forgotten", Default: "`1000`"},
		"dhcp.subnets":                     {Desc: "subnets served in full mode: the one on the interface, or ones behind relay agents"},
		"dhcp.subnets[].cidr":              {Desc: "the subnet, e.g. `192.0.2.0/24`"},
		"dhcp.subnets[].pools":             {Desc: "address ranges `first-last` (or single addresses) inside the subnet"},
		"dhcp.subnets[].router":            {Desc: "default gateway handed out"},
		"dhcp.subnets[].dns":               {Desc: "DNS servers handed out"},
		"dhcp.subnets[].domain":            {Desc: "domain name handed out"},
		"dhcp.subnets[].lease":             {Desc: "lease time, at least `1m`", Default: "`1h`"},
		"dhcp.workers":                     {Desc: "size of the DHCP worker pool", Default: "`64`"},
		"dhcp.relays":                      {Desc: "relay agents (addresses or CIDRs) whose relayed packets are served; others with giaddr set are dropped"},
		"dhcp.offer_rate":                  {Desc: "new offers per second to MACs the inventory does not know, per ingress", Default: code(dhcp.DefaultOfferRate)},
		"dhcp.offer_burst":                 {Desc: "how many of those offers may come at once", Default: code(dhcp.DefaultOfferBurst)},
	}
}

// configKey is one row of the configuration reference.
type configKey struct {
	Path, Type, Default string
}

// configKeys walks t's yaml tags (serveConfig and the structs it nests)
// into rows, taking defaults from def where the doc table names none.
func configKeys(t reflect.Type, def reflect.Value, prefix string) []configKey {
	var out []configKey
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		path := prefix + name
		var dv reflect.Value
		if def.IsValid() {
			dv = def.Field(i)
		}
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Duration(0)):
			out = append(out, configKeys(ft, dv, path+".")...)
			continue
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, configKey{Path: path, Type: "list of objects"})
			out = append(out, configKeys(ft.Elem(), reflect.Value{}, path+"[].")...)
			continue
		}
		k := configKey{Path: path, Type: yamlTypeName(ft)}
		switch {
		case dv.IsValid() && !dv.IsZero():
			k.Default = fmt.Sprintf("`%v`", dv.Interface())
		case ft.Kind() == reflect.Bool:
			k.Default = "`false`"
		}
		out = append(out, k)
	}
	return out
}

// yamlTypeName names a field's type as the YAML file spells its values.
func yamlTypeName(t reflect.Type) string {
	if t == reflect.TypeOf(time.Duration(0)) {
		return "duration (`90s`, `24h`)"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint16, reflect.Uint32:
		return "integer"
	case reflect.Float64, reflect.Float32:
		return "number"
	case reflect.Slice:
		return "list of " + yamlTypeName(t.Elem()) + "s"
	}
	return t.String()
}

// configReference renders docs/config.md; it fails on a key without a
// description or a description without a key.
func configReference() (string, error) {
	keys := configKeys(reflect.TypeOf(serveConfig{}), reflect.ValueOf(defaultServeConfig()), "")
	docs := serveConfigDocs()
	seen := map[string]bool{}
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated from the serve config struct by TestConfigReference; do not edit.
     Regenerate: go test ./cmd/netkick -run TestConfigReference -update -->

` + "`netkick serve --config FILE`" + ` reads a YAML file with the keys below; an unknown key is
an error. The order is: built-in defaults, then ` + "`NETKICK_DATA`" + `, then the file, then the
flags given on the command line. A nested key such as ` + "`dhcp.mode`" + ` is written as a block:

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

On reload (SIGHUP) ` + "`log_level`" + ` applies at once; a change to any other key is logged as
needing a restart. Every command and flag is in [cli.md](cli.md).

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
		flag, env := "", d.Env
		if d.Flag != "" {
			flag = "`--" + d.Flag + "`"
		}
		if env != "" {
			env = "`" + env + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", k.Path, k.Type, def, flag, env, d.Desc)
	}
	for p := range docs {
		if !seen[p] {
			return "", fmt.Errorf("serveConfigDocs describes %s, which the config struct does not have: remove it", p)
		}
	}
	return b.String(), nil
}
