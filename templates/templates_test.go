package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOverlay(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "roles", "web"), 0o755)
	os.WriteFile(filepath.Join(dir, "roles", "web", "packages.tmpl"), []byte("httpd\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "snippets"), 0o755)
	os.WriteFile(filepath.Join(dir, "snippets", "network.tmpl"), []byte("network --bootproto=static\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a template"), 0o644)
	tests := []struct {
		name, tmpl, want string
	}{
		{"override replaces built-in", "snippets/network", "network --bootproto=static"},
		{"new role added", "roles/web/packages", "httpd"},
		{"built-in kept", "snippets/rootpw", "rootpw --iscrypted"},
	}
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := set[tc.tmpl]; !strings.Contains(got, tc.want) {
				t.Fatalf("%s = %q, want it to contain %q", tc.tmpl, got, tc.want)
			}
		})
	}
	if _, ok := set["README"]; ok {
		t.Fatal("non-template file loaded")
	}
	roles := strings.Join(Roles(set), " ")
	if !strings.Contains(roles, "web") || !strings.Contains(roles, "lvs-director") {
		t.Fatalf("roles: %s", roles)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "--templates") {
		t.Fatalf("missing dir: %v", err)
	}
}
