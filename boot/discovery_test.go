package boot

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
)

func TestDiscoveryConfigs(t *testing.T) {
	d := &Discovery{Kernel: "discovery/vmlinuz", Initrd: "discovery/initrd.img", KernelArgs: "console=ttyS0", Token: "0123abcd"}
	in := ConfigInput{MAC: "52:54:00:aa:00:01", BaseURL: "http://192.0.2.1:8080", Discovery: d}
	tests := []struct {
		name, kind string
		in         ConfigInput
		want       []string
		wantErr    bool
	}{
		{"pxelinux boots the discovery environment, token in the facts URL", "pxelinux", in, []string{
			"LABEL discover", "KERNEL discovery/vmlinuz",
			"APPEND initrd=discovery/initrd.img netkick.facts=http://192.0.2.1:8080/api/v1/discovered/52:54:00:aa:00:01/facts?token=0123abcd netkick.after=wait console=ttyS0",
			"IPAPPEND 2"}, false},
		{"iPXE over HTTP", "ipxe", func() ConfigInput { c := in; c.FileBase = "http://192.0.2.1:8080/boot/"; return c }(), []string{
			"kernel http://192.0.2.1:8080/boot/discovery/vmlinuz initrd=initrd.img netkick.facts=", "BOOTIF=01-52-54-00-aa-00-01",
			"initrd --name initrd.img http://192.0.2.1:8080/boot/discovery/initrd.img"}, false},
		{"poweroff where configured", "pxelinux", func() ConfigInput {
			c := in
			dd := *d
			dd.After = AfterPoweroff
			c.Discovery = &dd
			return c
		}(), []string{"netkick.after=poweroff"}, false},
		{"unbound requester gets no token", "pxelinux", func() ConfigInput {
			c := in
			dd := *d
			dd.Token = ""
			c.Discovery = &dd
			return c
		}(), []string{"/facts netkick.after=wait"}, false},
		{"a known host never boots discovery", "pxelinux", func() ConfigInput {
			c := in
			c.Host = &inventory.Host{MACs: []string{in.MAC}, Hostname: "k", State: inventory.StateReady}
			return c
		}(), []string{"LOCALBOOT 0"}, false},
		{"unknown machine not discovered boots locally", "pxelinux", ConfigInput{MAC: in.MAC, BaseURL: in.BaseURL}, []string{"LOCALBOOT 0"}, false},
		{"no discovery kernel is an error naming the setting", "pxelinux", func() ConfigInput {
			c := in
			c.Discovery = &Discovery{Initrd: "x"}
			return c
		}(), nil, true},
		{"kernel args with shell characters refused", "ipxe", func() ConfigInput {
			c := in
			dd := *d
			dd.KernelArgs = "console=ttyS0 ${net0/mac}"
			c.Discovery = &dd
			return c
		}(), nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out string
			var err error
			if tc.kind == "ipxe" {
				out, err = IPXEScript(tc.in)
			} else {
				out, err = PXELinuxConfig(tc.in)
			}
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; config:\n%s", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("config lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestFactsAccess(t *testing.T) {
	now := time.Unix(1700000000, 0)
	d := &inventory.Discovered{MAC: "52:54:00:aa:00:01", Token: "good", TokenExpires: now.Add(time.Hour)}
	tests := []struct {
		name  string
		d     *inventory.Discovered
		token string
		at    time.Time
		ok    bool
	}{
		{"right token in time", d, "good", now, true},
		{"wrong token", d, "bad", now, false},
		{"no token", d, "", now, false},
		{"expired", d, "good", now.Add(2 * time.Hour), false},
		{"machine holds none", &inventory.Discovered{MAC: d.MAC}, "", now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := FactsAccess(tc.d, tc.token, tc.at)
			if tc.ok != (err == nil) {
				t.Fatalf("FactsAccess = %v, want ok %v", err, tc.ok)
			}
			var r *Refusal
			if err != nil && !errors.As(err, &r) {
				t.Fatalf("error %T is not a refusal", err)
			}
		})
	}
}
