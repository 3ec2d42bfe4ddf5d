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

func TestNextBound(t *testing.T) {
	const ms = time.Millisecond
	// 2 CPUs under the default: floor 32, step 8, ceiling 128.
	lo, step := boundLimits(128, 2)
	if lo != 32 || step != 8 {
		t.Fatalf("boundLimits(128, 2) = %d, %d; want 32, 8", lo, step)
	}
	for _, tc := range []struct {
		name         string
		cur          int
		base, recent time.Duration
		ok, waiting  bool
		lo, hi       int
		want         int
	}{
		{"no figures (a storm beginning): the floor", 80, 0, 0, false, true, 32, 128, 32},
		{"no baseline: the floor", 80, 0, 2 * ms, true, true, 32, 128, 32},
		{"saturated (blocks 3x the baseline): shrinks by a quarter", 128, ms, 3 * ms, true, true, 32, 128, 96},
		{"saturated with nobody waiting: shrinks too", 96, ms, 3 * ms, true, false, 32, 128, 72},
		{"saturated at the floor: stays", 36, ms, 10 * ms, true, true, 32, 128, 32},
		{"near the baseline with machines waiting: grows", 64, ms, 1200 * time.Microsecond, true, true, 32, 128, 72},
		{"near the baseline, grows up to the configured bound only", 124, ms, ms, true, true, 32, 128, 128},
		{"near the baseline, nobody waiting: holds", 64, ms, ms, true, false, 32, 128, 64},
		{"between the thresholds: holds", 64, ms, 1600 * time.Microsecond, true, true, 32, 128, 64},
		{"a configured bound under the floor is the ceiling", 20, ms, ms, true, true, 20, 20, 20},
		{"holding off stays off", 0, ms, 5 * ms, true, true, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextBound(tc.cur, tc.base, tc.recent, tc.ok, tc.waiting, tc.lo, step, tc.hi); got != tc.want {
				t.Errorf("nextBound(%d, %s, %s, %v, %v) = %d, want %d", tc.cur, tc.base, tc.recent, tc.ok, tc.waiting, got, tc.want)
			}
		})
	}
	if lo, _ := boundLimits(20, 2); lo != 20 {
		t.Errorf("boundLimits(20, 2) floor %d, want 20 (never above the configured bound)", lo)
	}
}

// blockLoad is a boot-chain load with set per-block times.
type blockLoad struct {
	inFlight     int
	base, recent time.Duration
}

func (l *blockLoad) InFlight() int { return l.inFlight }
func (l *blockLoad) BlockTimes() (time.Duration, time.Duration, bool) {
	return l.base, l.recent, l.base > 0
}

func TestAdmissionAdapts(t *testing.T) {
	l := &blockLoad{inFlight: 1000}
	a := newAdmission(l, 128, time.Minute)
	if got := a.currentBound(); got != a.lo {
		t.Fatalf("before any figures: bound %d, want the floor %d", got, a.lo)
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.queue = []*waiter{{mac: "52:54:00:00:00:01"}} // one machine waits
	l.base, l.recent = time.Millisecond, time.Millisecond
	a.adjustLocked(now)
	grown := a.bound
	a.adjustLocked(now.Add(adjustEvery / 2)) // too soon: unchanged
	if grown != a.lo+a.step || a.bound != grown {
		t.Errorf("near the baseline with one waiting: bound %d then %d, want %d twice (one step per %s)", grown, a.bound, a.lo+a.step, adjustEvery)
	}
	for i := 1; i <= 30; i++ {
		a.adjustLocked(now.Add(time.Duration(i) * adjustEvery))
	}
	if a.bound != a.hi {
		t.Errorf("near the baseline for 6 s: bound %d, want the configured %d", a.bound, a.hi)
	}
	l.recent = 5 * time.Millisecond
	a.adjustLocked(now.Add(31 * adjustEvery))
	if a.bound != a.hi*3/4 {
		t.Errorf("saturated: bound %d, want %d", a.bound, a.hi*3/4)
	}
	for i := 32; i <= 50; i++ {
		a.adjustLocked(now.Add(time.Duration(i) * adjustEvery))
	}
	if a.bound != a.lo {
		t.Errorf("saturated for 4 s: bound %d, want the floor %d", a.bound, a.lo)
	}
}
