package dhcp

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestArrive(t *testing.T) {
	hold := holdFacts{FirstStage: true, Queued: 3, Capacity: 10, Load: 128, Bound: 128}
	for _, tc := range []struct {
		name string
		f    func(f *holdFacts)
		want holdVerdict
	}{
		{"at the bound: held", func(f *holdFacts) {}, holdNew},
		{"above the bound: held", func(f *holdFacts) { f.Load = 500 }, holdNew},
		{"below the bound with nobody waiting: answered and counted", func(f *holdFacts) { f.Load, f.Queued = 127, 0 }, answerAdmitted},
		{"below the bound behind others waiting: held, keeping the order", func(f *holdFacts) { f.Load = 10 }, holdNew},
		{"holding off", func(f *holdFacts) { f.Bound = 0 }, answerNow},
		{"not a PXE ROM (iPXE, installer, REQUEST)", func(f *holdFacts) { f.FirstStage = false }, answerNow},
		{"its OFFER went out already: a retransmit is answered", func(f *holdFacts) { f.Offered = true }, answerNow},
		{"an unknown MAC the server ignores is never held", func(f *holdFacts) { f.Ignored = true }, answerNow},
		{"a retransmit of a waiting MAC keeps its place", func(f *holdFacts) { f.Waiting = true }, holdUpdate},
		{"a retransmit of a waiting MAC, the set full", func(f *holdFacts) { f.Waiting, f.Queued = true, 10 }, holdUpdate},
		{"the waiting set full: answered rather than dropped", func(f *holdFacts) { f.Queued = 10 }, answerAdmitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := hold
			tc.f(&f)
			if got := arrive(f); got != tc.want {
				t.Errorf("arrive(%+v) = %d, want %d", f, got, tc.want)
			}
		})
	}
}

func TestReleases(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(s float64) time.Time { return now.Add(-time.Duration(s * float64(time.Second))) }
	const max = 20 * time.Second
	for _, tc := range []struct {
		name        string
		ws          []waitView
		load, bound int
		want        []release
	}{
		{"at the bound: nobody goes", []waitView{{false, ago(3)}, {true, ago(2)}}, 128, 128, nil},
		{"room for one: the known host, though it came later",
			[]waitView{{false, ago(3)}, {true, ago(2)}}, 127, 128, []release{{Index: 1}}},
		{"room for three: known hosts by arrival, then unknown by arrival",
			[]waitView{{false, ago(5)}, {true, ago(4)}, {false, ago(3)}, {true, ago(2)}}, 125, 128,
			[]release{{Index: 1}, {Index: 3}, {Index: 0}}},
		{"plenty of room: everyone",
			[]waitView{{false, ago(5)}, {true, ago(4)}}, 0, 128, []release{{Index: 1}, {Index: 0}}},
		{"waited hold_max: answered over the bound",
			[]waitView{{false, ago(20)}, {true, ago(19.9)}, {false, ago(25)}}, 400, 128,
			[]release{{Index: 0, Expired: true}, {Index: 2, Expired: true}}},
		{"the expired take the room first",
			[]waitView{{true, ago(1)}, {false, ago(21)}}, 127, 128, []release{{Index: 1, Expired: true}}},
		{"nobody waiting", nil, 0, 128, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := releases(tc.ws, tc.load, tc.bound, max, now)
			if !slices.Equal(got, tc.want) {
				t.Errorf("releases = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHoldBound(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cpus int
		want int
		ok   bool
	}{
		{"", 1, 64, true},
		{"", 2, 128, true},
		{"", 8, 512, true},
		{" OFF ", 2, 0, true},
		{"0", 2, 0, true},
		{"300", 2, 300, true},
		{"-1", 2, 0, false},
		{"lots", 2, 0, false},
	} {
		n, ok := holdBound(tc.in, tc.cpus)
		if n != tc.want || ok != tc.ok {
			t.Errorf("holdBound(%q, %d) = %d, %v; want %d, %v", tc.in, tc.cpus, n, ok, tc.want, tc.ok)
		}
	}
	for _, c := range []Config{{HoldLoad: "many"}, {HoldMax: time.Minute}, {HoldMax: -time.Second}} {
		if err := c.Normalize(); err == nil {
			t.Errorf("Normalize(%+v) took it", c)
		}
	}
	c := Config{}
	if err := c.Normalize(); err != nil || c.HoldMax != DefaultHoldMax {
		t.Errorf("Normalize: hold_max %s, %v; want %s", c.HoldMax, err, DefaultHoldMax)
	}
}

func TestFirstStage(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}
	pxe := dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003016"))
	for _, tc := range []struct {
		name string
		mods []dhcpv4.Modifier
		typ  dhcpv4.MessageType
		want bool
	}{
		{"PXE ROM DISCOVER", []dhcpv4.Modifier{pxe}, dhcpv4.MessageTypeDiscover, true},
		{"PXE ROM with another user class", []dhcpv4.Modifier{pxe, dhcpv4.WithUserClass("gPXE", false)}, dhcpv4.MessageTypeDiscover, true},
		{"iPXE's own DHCP", []dhcpv4.Modifier{pxe, dhcpv4.WithUserClass("iPXE", false)}, dhcpv4.MessageTypeDiscover, false},
		{"iPXE's own DHCP, RFC 3004 user class", []dhcpv4.Modifier{pxe, dhcpv4.WithUserClass("iPXE", true)}, dhcpv4.MessageTypeDiscover, false},
		{"the installer's DHCP", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("anaconda-Linux 3.10.0 x86_64"))}, dhcpv4.MessageTypeDiscover, false},
		{"UEFI HTTP boot", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("HTTPClient:Arch:00016"))}, dhcpv4.MessageTypeDiscover, false},
		{"no vendor class", nil, dhcpv4.MessageTypeDiscover, false},
		{"a PXE ROM's REQUEST", []dhcpv4.Modifier{pxe}, dhcpv4.MessageTypeRequest, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(tc.typ)}, tc.mods...)...)
			if err != nil {
				t.Fatal(err)
			}
			if got := firstStage(req); got != tc.want {
				t.Errorf("firstStage = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPendingStart(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, tc := range []struct {
		name      string
		at, acked time.Time
		want      bool
	}{
		{"just let through", ago(time.Millisecond), time.Time{}, true},
		{"no ACK yet, a second on (the commit is slow)", ago(time.Second), time.Time{}, true},
		{"ACKed just now: its request is on its way", ago(300 * time.Millisecond), ago(10 * time.Millisecond), true},
		{"ACKed ackLinger ago: in the load by now if it ever will be", ago(300 * time.Millisecond), ago(ackLinger), false},
		{"never REQUESTed: counted creditMax at most", ago(creditMax), time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pendingStart(tc.at, tc.acked, now); got != tc.want {
				t.Errorf("pendingStart = %v, want %v", got, tc.want)
			}
		})
	}
}
