package testvm

import (
	"strings"
	"testing"
	"time"
)

func TestEventSequence(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	mac, ip := "52:54:00:4e:54:0a", "192.0.2.60"
	evs := []apiEvent{
		{Kind: "build", Detail: "kickstart token issued", Time: at(-60)},
		{Kind: "build", Detail: "build mode on by API token admin", Time: t0.Add(-100 * time.Millisecond)},
		{Kind: "dhcp-offer", Detail: "192.0.2.60 bios pxelinux.0", Time: at(1)},
		{Kind: "tftp", Detail: "sent pxelinux.cfg/01-52-54-00-4e-54-0a (312 bytes, 3ms) to 192.0.2.60", Time: at(2)},
		// recorded after the next DHCP, but begun before it
		{Kind: "dhcp-offer", Detail: "192.0.2.60  ", Time: at(2).Add(500 * time.Millisecond)},
		{Kind: "tftp", Detail: "sent testvm/initrd.img (5375106 bytes, 400ms) to 192.0.2.60", Time: at(2).Add(600 * time.Millisecond)},
		{Kind: "kickstart", Detail: "kickstart fetched by 192.0.2.60", Time: at(3)},
		{Kind: "built", Detail: "install reported by 192.0.2.60 token=AbC123", Time: at(4)},
		{Kind: "dhcp-ack", Detail: "192.0.2.60 bios pxelinux.0", Time: at(5)},
	}
	got := EventSequence(evs, t0, mac, ip)
	want := []string{
		"dhcp-offer <ip> bios pxelinux.0",
		"tftp sent pxelinux.cfg/01-<mac> to <ip>",
		"tftp sent testvm/initrd.img to <ip>",
		"dhcp-offer <ip>",
		"kickstart kickstart fetched by <ip>",
		"built install reported by <ip> token=<token>",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("EventSequence:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSequenceDiff(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []string
		want string // substring of the difference, "" for none
	}{
		{"same", []string{"dhcp-offer", "built"}, []string{"dhcp-offer", "built"}, ""},
		{"both empty", nil, nil, ""},
		{"different kind", []string{"dhcp-offer", "tftp sent ldlinux.c32"}, []string{"dhcp-offer", "tftp sent pxelinux.0"}, `event 2: the real machine has "tftp sent ldlinux.c32", the simulated client "tftp sent pxelinux.0"`},
		{"simulated one more", []string{"dhcp-offer"}, []string{"dhcp-offer", "dhcp-ack"}, `event 2: the simulated client has "dhcp-ack", the real machine nothing more`},
		{"real one more", []string{"dhcp-offer", "built"}, []string{"dhcp-offer"}, `event 2: the real machine has "built", the simulated client nothing more`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SequenceDiff(tc.a, tc.b)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("SequenceDiff = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSimulatedTwinInInventory(t *testing.T) {
	var twin *SimulatedTwin
	for _, s := range Scenarios() {
		if s.Simulated != nil {
			twin = s.Simulated
		}
	}
	if twin == nil {
		t.Fatal("no scenario has a simulated twin")
	}
	if got := twin.MAC(); got != "52:54:00:4e:54:30" {
		t.Errorf("twin MAC = %s, want 52:54:00:4e:54:30 (stormclient's machine %d)", got, twin.Index)
	}
	inv := inventoryFor(Scenarios())
	found := false
	for _, h := range inv["hosts"].([]map[string]any) {
		if macs := h["macs"].([]string); macs[0] == twin.MAC() {
			found = true
			if h["ip"] != twin.IP || h["params"].(map[string]string)["bootloader"] != "pxelinux" {
				t.Errorf("twin host %v: want ip %s and the scenario's bootloader param", h, twin.IP)
			}
		}
	}
	if !found {
		t.Errorf("the inventory has no host %s for the simulated twin", twin.MAC())
	}
}
