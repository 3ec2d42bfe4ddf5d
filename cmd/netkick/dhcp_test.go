package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeDHCPConfigErrors: a DHCP server is only started when told exactly
// where and how; every mistake is refused with a message naming it.
func TestServeDHCPConfigErrors(t *testing.T) {
	bin := buildNetkick(t)
	tests := []struct {
		name string
		args func(dir string) []string
		want string
	}{
		{"mode without interface", func(dir string) []string {
			return []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--dhcp-mode", "full"}
		}, "no interface is named"},
		{"unknown mode", func(dir string) []string {
			return []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--dhcp-mode", "on", "--dhcp-interface", "lo"}
		}, `config key dhcp.mode, from flag --dhcp-mode: "on" is not accepted: want one of full, proxy, off`},
		{"hold bound not a number", func(dir string) []string {
			return []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--dhcp-mode", "full", "--dhcp-interface", "lo", "--dhcp-hold-load", "lots"}
		}, `dhcp.hold_load "lots": want a number of TFTP transfers in flight, off, or nothing`},
		{"hold longer than firmware waits", func(dir string) []string {
			return []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--dhcp-mode", "full", "--dhcp-interface", "lo", "--dhcp-hold-max", "1m"}
		}, "dhcp.hold_max 1m0s: want a duration up to 45s"},
		{"full mode without subnets", func(dir string) []string {
			return []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--dhcp-mode", "full", "--dhcp-interface", "lo"}
		}, "at least one entry in dhcp.subnets"},
		{"missing interface", func(dir string) []string {
			return []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--dhcp-mode", "proxy", "--dhcp-interface", "nosuchif0"}
		}, `dhcp interface "nosuchif0"`},
		{"unknown key in the dhcp block", func(dir string) []string {
			os.WriteFile(filepath.Join(dir, "c.yaml"), []byte("data: "+dir+"\ndhcp:\n  interface: lo\n  modes: full\n"), 0o600)
			return []string{"serve", "--config", filepath.Join(dir, "c.yaml")}
		}, `c.yaml:4: unknown key "dhcp.modes"; did you mean "mode"?`},
		{"pool outside its subnet", func(dir string) []string {
			os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(`data: `+dir+`
dhcp:
  interface: lo
  mode: full
  subnets:
    - cidr: 192.0.2.0/24
      pools: ["198.18.0.10-198.18.0.20"]
`), 0o600)
			return []string{"serve", "--config", filepath.Join(dir, "c.yaml")}
		}, "must lie inside 192.0.2.0/24"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := tc.args(t.TempDir())
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("netkick %v: err %v, want an error containing %q:\n%s", args, err, tc.want, out)
			}
		})
	}
}
