package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/netkick/netkick/lvs"
)

var (
	vip  = netip.MustParseAddr("192.0.2.40")
	vip2 = netip.MustParseAddr("192.0.2.41")
	b01  = netip.MustParseAddr("192.0.2.21")
	b02  = netip.MustParseAddr("192.0.2.22")
	b03  = netip.MustParseAddr("192.0.2.23")
)

func web(sched string, dests ...Dest) Service {
	return Service{Key: Key{"tcp", vip, 80}, Scheduler: sched, Dests: dests}
}

func dr(a netip.Addr, w uint32) Dest { return Dest{Addr: a, Port: 80, Weight: w, Fwd: FwdDirect} }

func render(cs []Change) string {
	var lines []string
	for _, c := range cs {
		lines = append(lines, strings.Join(strings.Fields(c.String()), " "))
	}
	return strings.Join(lines, "\n")
}

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name             string
		desired, current Table
		want             string
	}{
		{"no-op on identical tables", Table{web("lc", dr(b01, 1), dr(b02, 1))}, Table{web("lc", dr(b02, 1), dr(b01, 1))}, ""},
		{"no-op ignores connection counts", Table{web("lc", dr(b01, 1))},
			Table{web("lc", Dest{Addr: b01, Port: 80, Weight: 1, Fwd: FwdDirect, ActiveConns: 9, InactiveConns: 3})}, ""},
		{"add to an empty table", Table{web("lc", dr(b02, 1), dr(b01, 1))}, nil,
			"add-service tcp 192.0.2.40:80 scheduler lc\n" +
				"add-server tcp 192.0.2.40:80 -> 192.0.2.21:80 weight 1\n" +
				"add-server tcp 192.0.2.40:80 -> 192.0.2.22:80 weight 1"},
		{"remove a service not in the cluster", Table{web("lc")}, Table{web("lc"), {Key: Key{"udp", vip2, 53}, Scheduler: "rr"}},
			"delete-service udp 192.0.2.41:53"},
		{"remove everything", nil, Table{web("lc", dr(b01, 1))}, "delete-service tcp 192.0.2.40:80"},
		{"add and remove real servers", Table{web("lc", dr(b01, 1), dr(b03, 1))}, Table{web("lc", dr(b01, 1), dr(b02, 1))},
			"delete-server tcp 192.0.2.40:80 -> 192.0.2.22:80\n" +
				"add-server tcp 192.0.2.40:80 -> 192.0.2.23:80 weight 1"},
		{"weight change", Table{web("lc", dr(b01, 3), dr(b02, 1))}, Table{web("lc", dr(b01, 1), dr(b02, 1))},
			"edit-server tcp 192.0.2.40:80 -> 192.0.2.21:80 (weight 1 -> 3)"},
		{"forwarding method change", Table{web("lc", dr(b01, 1))}, Table{web("lc", Dest{Addr: b01, Port: 80, Weight: 1, Fwd: "masq"})},
			"edit-server tcp 192.0.2.40:80 -> 192.0.2.21:80 (forwarding masq -> droute)"},
		{"scheduler change keeps the servers", Table{web("lc", dr(b01, 1))}, Table{web("rr", dr(b01, 1))},
			"edit-service tcp 192.0.2.40:80 (scheduler rr -> lc)"},
		{"persistence change", Table{{Key: Key{"tcp", vip, 80}, Scheduler: "lc", Persistent: 300}}, Table{web("lc")},
			"edit-service tcp 192.0.2.40:80 (persistent 0s -> 300s)"},
		{"same port other protocol is another service", Table{web("lc")}, Table{{Key: Key{"udp", vip, 80}, Scheduler: "lc"}},
			"delete-service udp 192.0.2.40:80\nadd-service tcp 192.0.2.40:80 scheduler lc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(Diff(tc.desired, tc.current)); got != tc.want {
				t.Errorf("Diff:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// fakeKernel is an IPVS table in memory that applies changes the way the
// kernel does (errors on duplicates and missing entries).
type fakeKernel struct {
	t       Table
	failOn  Op
	applied int
}

func (f *fakeKernel) Table(context.Context) (Table, error) {
	out := make(Table, len(f.t))
	for i, s := range f.t {
		s.Dests = append([]Dest(nil), s.Dests...)
		out[i] = s
	}
	return out, nil
}

func (f *fakeKernel) find(k Key) int {
	for i, s := range f.t {
		if s.Key == k {
			return i
		}
	}
	return -1
}

func (f *fakeKernel) Apply(_ context.Context, c Change) error {
	if c.Op == f.failOn {
		return errors.New("injected failure")
	}
	f.applied++
	i := f.find(c.Service.Key)
	switch c.Op {
	case AddService:
		if i >= 0 {
			return errors.New("file exists")
		}
		f.t = append(f.t, c.Service)
		return nil
	}
	if i < 0 {
		return errors.New("no such service")
	}
	s := &f.t[i]
	j := -1
	for n, d := range s.Dests {
		if d.addrPort() == c.Dest.addrPort() {
			j = n
		}
	}
	switch c.Op {
	case EditService:
		s.Scheduler, s.Persistent = c.Service.Scheduler, c.Service.Persistent
	case DelService:
		f.t = append(f.t[:i], f.t[i+1:]...)
	case AddServer:
		if j >= 0 {
			return errors.New("file exists")
		}
		s.Dests = append(s.Dests, c.Dest)
	case EditServer:
		if j < 0 {
			return errors.New("no such destination")
		}
		s.Dests[j] = c.Dest
	case DelServer:
		if j < 0 {
			return errors.New("no such destination")
		}
		s.Dests = append(s.Dests[:j], s.Dests[j+1:]...)
	default:
		return fmt.Errorf("unknown op %s", c.Op)
	}
	return nil
}

func TestApplyIsIdempotent(t *testing.T) {
	c, hosts := lvs.DemoCluster(), lvs.DemoHosts()
	p, err := lvs.NewPlan(&c, hosts)
	if err != nil {
		t.Fatal(err)
	}
	desired, err := Desired(p)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel starts with a stale service and B01 at the wrong weight under rr.
	k := &fakeKernel{t: Table{
		web("rr", dr(b01, 5)),
		{Key: Key{"udp", vip2, 53}, Scheduler: "rr"},
	}}
	ctx := context.Background()
	changes, err := Apply(ctx, k, desired)
	if err != nil {
		t.Fatal(err)
	}
	want := "delete-service udp 192.0.2.41:53\n" +
		"edit-service tcp 192.0.2.40:80 (scheduler rr -> lc)\n" +
		"add-server tcp 192.0.2.40:80 -> 192.0.2.22:80 weight 1\n" +
		"edit-server tcp 192.0.2.40:80 -> 192.0.2.21:80 (weight 5 -> 1)"
	if got := render(changes); got != want {
		t.Errorf("first apply:\n%s\nwant:\n%s", got, want)
	}
	now, _ := k.Table(ctx)
	if d := Diff(desired, now); len(d) != 0 {
		t.Errorf("table after apply still differs: %s", render(d))
	}
	applied := k.applied
	again, err := Apply(ctx, k, desired)
	if err != nil || len(again) != 0 || k.applied != applied {
		t.Errorf("second apply changed %d things (%s), err %v; want none", len(again), render(again), err)
	}
}

func TestApplyStopsAtFirstError(t *testing.T) {
	k := &fakeKernel{failOn: AddServer}
	changes, err := Apply(context.Background(), k, Table{web("lc", dr(b01, 1))})
	if err == nil || !strings.Contains(err.Error(), "add-server") {
		t.Fatalf("err = %v, want the failing add-server named", err)
	}
	if len(changes) != 1 || changes[0].Op != AddService {
		t.Errorf("applied = %s, want only the add-service", render(changes))
	}
}

func TestDesiredFromPlan(t *testing.T) {
	c, hosts := lvs.DemoCluster(), lvs.DemoHosts()
	c.Services[0].Persistent = 60
	p, err := lvs.NewPlan(&c, hosts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Desired(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Table{{Key: Key{"tcp", vip, 80}, Scheduler: "lc", Persistent: 60, Dests: []Dest{dr(b01, 1), dr(b02, 1)}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Desired = %+v, want %+v", got, want)
	}
}

func TestFormatStatus(t *testing.T) {
	out := FormatStatus(Table{web("lc", Dest{Addr: b02, Port: 80, Weight: 1, Fwd: FwdDirect, ActiveConns: 4, InactiveConns: 12}, dr(b01, 2))})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("want header, service and two servers, got:\n%s", out)
	}
	for i, want := range [][]string{
		{"SERVICE", "SCHED", "PERSIST", "SERVER", "FORWARD", "WEIGHT", "ACTIVE", "INACTIVE"},
		{"tcp", "192.0.2.40:80", "lc", "-"},
		{"192.0.2.21:80", "droute", "2", "0", "0"},
		{"192.0.2.22:80", "droute", "1", "4", "12"},
	} {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("line %d = %q, want fields %q", i, lines[i], want)
		}
	}
	// Server columns line up under the header.
	if col := strings.Index(lines[0], "SERVER"); strings.Index(lines[2], "192.0.2.21:80") != col {
		t.Errorf("server column not aligned:\n%s", out)
	}
	if got := FormatStatus(nil); !strings.Contains(got, "no virtual services") {
		t.Errorf("empty status = %q", got)
	}
}
