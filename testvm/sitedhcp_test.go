package testvm

import (
	"strings"
	"testing"
	"time"
)

func TestLearnedAddressProblem(t *testing.T) {
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	addr := func(s int, ip string) apiEvent {
		return apiEvent{Kind: "address", Detail: ip + ": requested address (option 50) of its DHCPREQUEST to 192.0.2.3", Time: at(s)}
	}
	ks := func(s int, ip string) apiEvent {
		return apiEvent{Kind: "kickstart", Detail: "kickstart fetched by " + ip, Time: at(s)}
	}
	tests := []struct {
		name string
		evs  []apiEvent
		want string // substring of the problem; "" for none
	}{
		{"learned, then fetched from it", []apiEvent{addr(5, "192.0.2.151"), ks(50, "192.0.2.151")}, ""},
		{"the last learned address counts", []apiEvent{addr(5, "192.0.2.150"), addr(30, "192.0.2.151"), ks(50, "192.0.2.151")}, ""},
		{"fetched from another address", []apiEvent{addr(5, "192.0.2.150"), ks(50, "192.0.2.151")}, "fetched from 192.0.2.151, but netkick's last learned address is 192.0.2.150"},
		{"fetched before anything was learned", []apiEvent{ks(50, "192.0.2.151"), addr(55, "192.0.2.151")}, "before netkick learned"},
		{"nothing learned", []apiEvent{{Kind: "dhcp-offer", Time: at(2)}}, "no address event"},
		{"an address learned before this run does not count", []apiEvent{addr(-60, "192.0.2.151"), ks(50, "192.0.2.151")}, "before netkick learned"},
		{"learned but no kickstart", []apiEvent{addr(5, "192.0.2.151")}, "no kickstart fetch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := LearnedAddressProblem(tc.evs, start)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("LearnedAddressProblem = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBootEvent(t *testing.T) {
	tests := []struct {
		kind, detail string
		want         bool
	}{
		{"dhcp-ack", "192.0.2.51 bios pxelinux.0", true},
		{"tftp", "sent pxelinux.0 (42430 bytes, 8ms) to 192.0.2.152", true},
		{"ipxe", "served boot.ipxe (local boot) to 192.0.2.151", true},
		{"dhcp-offer", "proxy (port 67) efi-x86_64 local boot: netkick-local-boot (refused, not in build mode)", true},
		{"dhcp-offer", "192.0.2.55 efi-x86_64 ipxe.efi", false}, // full mode: the ACK is the answer
		{"address", "192.0.2.151: requested address (option 50) of its DHCPREQUEST to 192.0.2.3", false},
		{"kickstart", "kickstart fetched by 192.0.2.151", false},
	}
	for _, tc := range tests {
		if got := bootEvent(tc.kind, tc.detail); got != tc.want {
			t.Errorf("bootEvent(%q, %q) = %v, want %v", tc.kind, tc.detail, got, tc.want)
		}
	}
}
