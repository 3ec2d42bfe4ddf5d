package main

import (
	"strings"
	"testing"
)

func TestCheckDebugAddr(t *testing.T) {
	cases := []struct {
		name, addr  string
		allowRemote bool
		wantErr     string // "" for accepted
	}{
		{"loopback v4", "127.0.0.1:6060", false, ""},
		{"loopback v4 other", "127.0.0.2:6060", false, ""},
		{"loopback v6", "[::1]:6060", false, ""},
		{"localhost", "localhost:6060", false, ""},
		{"port 0", "127.0.0.1:0", false, ""},
		{"every address", ":6060", false, "on every address"},
		{"unspecified v4", "0.0.0.0:6060", false, "on address 0.0.0.0"},
		{"a LAN address", "192.0.2.10:6060", false, "--debug-allow-remote"},
		{"a host name", "debug.example.com:6060", false, "use a loopback address"},
		{"LAN address allowed", "192.0.2.10:6060", true, ""},
		{"every address allowed", ":6060", true, ""},
		{"no port", "127.0.0.1", false, "want host:port"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDebugAddr(tc.addr, tc.allowRemote)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("checkDebugAddr(%q, %v): %v", tc.addr, tc.allowRemote, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("checkDebugAddr(%q, %v) = %v, want an error with %q", tc.addr, tc.allowRemote, err, tc.wantErr)
			}
		})
	}
}
