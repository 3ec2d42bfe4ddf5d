package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/httpd"
	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite docs/config.md from the serve config struct")

// TestConfigReference keeps docs/config.md equal to what the serve config
// struct and its descriptions generate; -update rewrites it.
func TestConfigReference(t *testing.T) {
	got, err := configReference()
	if err != nil {
		t.Fatal(err)
	}
	const path = "../../docs/config.md"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (make it: go test ./cmd/netkick -run TestConfigReference -update)", err)
	}
	if string(want) != got {
		t.Errorf("docs/config.md is stale: regenerate it with go test ./cmd/netkick -run TestConfigReference -update")
	}
	for _, key := range []string{"`http`", "`log_format`", "`http_limits.idle_timeout`", "`dhcp.subnets[].pools`", "`--dhcp-mode`", "`NETKICK_DATA`"} {
		if !strings.Contains(got, "| "+key+" |") {
			t.Errorf("reference has no cell %s", key)
		}
	}
}

// TestConfigReferenceFlags: every config key is a flag of serve and of
// check (global ones included), and every flag of serve but --config sets
// a key.
func TestConfigReferenceFlags(t *testing.T) {
	a := &app{stdout: io.Discard, stderr: io.Discard}
	root := a.rootCmd()
	keyFlags := map[string]string{}
	for _, k := range serveKeys() {
		keyFlags[k.Flag] = k.Path
	}
	if len(keyFlags) != len(serveKeys()) {
		t.Fatalf("two keys share a flag: %v", keyFlags)
	}
	for _, name := range []string{"serve", "check"} {
		c, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ParseFlags(nil); err != nil { // merges the global flags in
			t.Fatal(err)
		}
		for flag, key := range keyFlags {
			if c.Flags().Lookup(flag) == nil {
				t.Errorf("config key %s: %s has no --%s", key, name, flag)
			}
		}
	}
	serve, _, _ := root.Find([]string{"serve"})
	serve.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "config" && keyFlags[f.Name] == "" {
			t.Errorf("serve flag --%s sets no config key", f.Name)
		}
	})
}

// TestServeConfigSources: serve's own flags (global ones included),
// NETKICK_* variables and the --config file, merged key by key: flag over
// environment over file over default; bad values name key, source and
// what is accepted.
func TestServeConfigSources(t *testing.T) {
	for _, k := range serveKeys() {
		t.Setenv(k.Env, "") // empty is unset: the test's own environment stays out
	}
	const file = "log_format: json\ndata: /srv/file\ntoken_ttl: 1h\nhttp_limits:\n  idle_timeout: 2m\ndhcp:\n  mode: proxy\n  interface: eth9\n"
	for _, tc := range []struct {
		name    string
		file    string
		env     map[string]string
		args    []string
		check   func(serveConfig) string // what is wrong, empty: nothing
		wantErr string
	}{
		{name: "defaults", check: func(c serveConfig) string {
			if c.LogFormat != logText || c.TokenTTL != httpd.DefaultTokenTTL || c.HTTP != ":8080" || c.DHCP.Mode != "off" {
				return "not the defaults"
			}
			return ""
		}},
		{name: "file over defaults", file: file, check: func(c serveConfig) string {
			if c.LogFormat != logJSON || c.Data != "/srv/file" || c.TokenTTL != time.Hour || c.HTTPLimits.IdleTimeout != 2*time.Minute || c.DHCP.Mode != "proxy" {
				return "file not applied"
			}
			return ""
		}},
		{name: "environment over file, key by key", file: file,
			env: map[string]string{"NETKICK_DATA": "/srv/env", "NETKICK_HTTP_LIMITS_IDLE_TIMEOUT": "3m", "NETKICK_DHCP_MODE": "full"},
			check: func(c serveConfig) string {
				if c.Data != "/srv/env" || c.HTTPLimits.IdleTimeout != 3*time.Minute || c.DHCP.Mode != "full" || c.LogFormat != logJSON || c.DHCP.Interface != "eth9" {
					return "environment not over file"
				}
				return ""
			}},
		{name: "flags over environment, global --data too", file: file,
			env:  map[string]string{"NETKICK_DATA": "/srv/env", "NETKICK_LOG_FORMAT": "json"},
			args: []string{"--data", "/srv/flag", "--log-format", "text", "--token-ttl", "30m", "--dhcp-mode", "off", "--demo"},
			check: func(c serveConfig) string {
				if c.Data != "/srv/flag" || c.LogFormat != logText || c.TokenTTL != 30*time.Minute || c.DHCP.Mode != "off" || !c.Demo {
					return "flags not over environment"
				}
				return ""
			}},
		{name: "TLS keys", env: map[string]string{"NETKICK_TLS_CERT": "/etc/netkick/tls.crt"}, args: []string{"--tls-key", "/etc/netkick/tls.key", "--https", "127.0.0.1:9443"},
			check: func(c serveConfig) string {
				if c.TLSCert != "/etc/netkick/tls.crt" || c.TLSKey != "/etc/netkick/tls.key" || c.HTTPS != "127.0.0.1:9443" {
					return "TLS keys not set"
				}
				return ""
			}},
		{name: "list of objects from the environment", env: map[string]string{"NETKICK_DHCP_SUBNETS": "[{cidr: 192.0.2.0/24, pools: [192.0.2.100-192.0.2.199], router: 192.0.2.1}]"},
			check: func(c serveConfig) string {
				if len(c.DHCP.Subnets) != 1 || c.DHCP.Subnets[0].Router != "192.0.2.1" || c.DHCP.Subnets[0].Pools[0] != "192.0.2.100-192.0.2.199" {
					return "subnets not set"
				}
				return ""
			}},
		{name: "bad flag", args: []string{"--token-ttl", "a day"}, wantErr: `config key token_ttl, from flag --token-ttl: "a day" is not accepted: want a duration such as 90s, 15m or 24h`},
		{name: "bad variable", env: map[string]string{"NETKICK_DHCP_MODE": "ful"}, wantErr: `config key dhcp.mode, from environment NETKICK_DHCP_MODE: "ful" is not accepted: want one of full, proxy, off`},
		{name: "bad file value with its line", file: "http: \":8080\"\nlog_format: logfmt\n", wantErr: `netkick.yaml:2: "logfmt" is not accepted: want one of text, json`},
		{name: "bad file key", file: "tftp_max_transfer: 3\n", wantErr: `netkick.yaml:1: unknown key "tftp_max_transfer"; did you mean "tftp_max_transfers"?`},
		{name: "bad token binding", args: []string{"--token-binding", "loose"}, wantErr: `config key token_binding, from flag --token-binding: "loose" is not accepted: want one of strict, address, off`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			path := ""
			if tc.file != "" {
				path = t.TempDir() + "/netkick.yaml"
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			a := &app{stdout: io.Discard, stderr: io.Discard}
			root := a.rootCmd()
			serve, _, err := root.Find([]string{"serve"})
			if err != nil {
				t.Fatal(err)
			}
			if err := serve.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := resolveServeConfig(serve.Flags(), path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v\nwant it to contain %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(cfg); msg != "" {
				t.Errorf("%s: %+v", msg, cfg)
			}
		})
	}
}

// TestLogHandler: each --log-format value picks its handler; json lines
// parse as JSON objects with the record's fields.
func TestLogHandler(t *testing.T) {
	for _, tc := range []struct {
		name, format string
		wantErr      bool
		check        func(t *testing.T, out string)
	}{
		{name: "json lines parse", format: logJSON, check: func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("want 2 lines, got %d: %q", len(lines), out)
			}
			for _, l := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				if m["msg"] == nil || m["level"] == nil || m["time"] == nil {
					t.Errorf("line %q lacks time, level or msg", l)
				}
			}
			var m map[string]any
			_ = json.Unmarshal([]byte(lines[1]), &m)
			if m["msg"] != "HTTP listening" || m["addr"] != "127.0.0.1:8080" || m["level"] != "WARN" {
				t.Errorf("second line %v: want msg, addr and level of the record", m)
			}
		}},
		{name: "text default", format: "", check: func(t *testing.T, out string) {
			if !strings.Contains(out, `msg="HTTP listening" addr=127.0.0.1:8080`) || strings.HasPrefix(out, "{") {
				t.Errorf("not slog text: %q", out)
			}
		}},
		{name: "text", format: logText, check: func(t *testing.T, out string) {
			if !strings.Contains(out, "level=INFO msg=starting") {
				t.Errorf("not slog text: %q", out)
			}
		}},
		{name: "unknown format refused", format: "logfmt", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, _, err := newLogger(&buf, "info", tc.format)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "want text or json") {
					t.Fatalf("err %v: want a usage error naming text and json", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("hidden")
			log.Info("starting", "data", "/var/lib/netkick \"x\"")
			log.Warn("HTTP listening", "addr", "127.0.0.1:8080")
			tc.check(t, buf.String())
		})
	}
}

// TestConfigFlagCompletion: a shell completing a key's flag is offered the
// values the key accepts, on serve and on check.
func TestConfigFlagCompletion(t *testing.T) {
	for _, tc := range []struct{ cmd, flag, want string }{
		{"serve", "--dhcp-mode", "full\nproxy\noff\n"},
		{"serve", "--log-format", "text\njson\n"},
		{"check", "--token-binding", "strict\naddress\noff\n"},
	} {
		var out bytes.Buffer
		a := &app{stdout: &out, stderr: io.Discard}
		if code := a.main(context.Background(), []string{"__complete", tc.cmd, tc.flag, ""}); code != 0 {
			t.Fatalf("%s %s: exit %d", tc.cmd, tc.flag, code)
		}
		if !strings.HasPrefix(out.String(), tc.want) {
			t.Errorf("%s %s completes to %q, want %q first", tc.cmd, tc.flag, out.String(), tc.want)
		}
	}
}
