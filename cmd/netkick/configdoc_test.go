package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"strings"
	"testing"

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

// TestConfigReferenceFlags: every flag the reference names is one serve
// takes, and every config flag of serve is named for its key.
func TestConfigReferenceFlags(t *testing.T) {
	a := &app{stdout: io.Discard, stderr: io.Discard}
	root := a.rootCmd()
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.ParseFlags(nil); err != nil { // merges the global flags in
		t.Fatal(err)
	}
	named := map[string]string{}
	for key, d := range serveConfigDocs() {
		if d.Flag == "" {
			continue
		}
		named[d.Flag] = key
		if serve.Flags().Lookup(d.Flag) == nil {
			t.Errorf("config key %s names --%s, which serve does not take", key, d.Flag)
		}
	}
	serve.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "config" && named[f.Name] == "" {
			t.Errorf("serve flag --%s sets no config key in serveConfigDocs", f.Name)
		}
	})
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

// TestLogFormatResolve: --log-format wins over the file's log_format, which
// wins over the default.
func TestLogFormatResolve(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/netkick.yaml"
	if err := os.WriteFile(file, []byte("log_format: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	var flagCfg serveConfig
	fs.StringVar(&flagCfg.LogFormat, "log-format", logText, "")
	cfg, err := resolveServeConfig(fs, "", flagCfg)
	if err != nil || cfg.LogFormat != logText {
		t.Fatalf("default: %q, %v; want text", cfg.LogFormat, err)
	}
	if cfg, err = resolveServeConfig(fs, file, flagCfg); err != nil || cfg.LogFormat != logJSON {
		t.Fatalf("file: %q, %v; want json", cfg.LogFormat, err)
	}
	if err := fs.Parse([]string{"--log-format", "text"}); err != nil {
		t.Fatal(err)
	}
	if cfg, err = resolveServeConfig(fs, file, flagCfg); err != nil || cfg.LogFormat != logText {
		t.Fatalf("flag over file: %q, %v; want text", cfg.LogFormat, err)
	}
}
