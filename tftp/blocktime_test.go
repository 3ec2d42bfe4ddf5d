package tftp

import (
	"io"
	"path/filepath"
	"testing"
	"time"

	ptftp "github.com/pin/tftp/v3"
)

// slowWriter takes d over each block, as a slow firmware does: pin/tftp's
// client writes a block before it acknowledges it.
type slowWriter struct{ d time.Duration }

func (w slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.d)
	return len(p), nil
}

func receive(t *testing.T, addr, name string, w io.Writer) {
	t.Helper()
	c, err := ptftp.NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetBlockSize(1468)
	c.RequestTSize(true)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		t.Fatalf("receive %s: %v", name, err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		t.Fatalf("receive %s: %v", name, err)
	}
}

// TestBlockTimesFromTransfers: the per-block times come from real
// transfers on loopback: none before any, none from a one-block file, a
// client taking 3 ms a block gives at least that, and a fast transfer
// after it lowers the baseline below it.
func TestBlockTimesFromTransfers(t *testing.T) {
	base, root := newRoot(t)
	writeRandom(t, filepath.Join(root, "small"), 1000)
	writeRandom(t, filepath.Join(root, "big"), 400*1468)
	f := startServer(t, base, root, nil)
	if _, _, ok := f.srv.BlockTimes(); ok {
		t.Fatal("BlockTimes ok before any transfer")
	}
	receive(t, f.addr.String(), "small", io.Discard)
	if b, r, ok := f.srv.BlockTimes(); ok {
		t.Fatalf("BlockTimes after a one-block transfer = %s, %s; want none", b, r)
	}

	const slow = 2 * time.Millisecond
	receive(t, f.addr.String(), "big", slowWriter{slow})
	slowBase, slowRecent, ok := f.srv.BlockTimes()
	if !ok {
		t.Fatal("BlockTimes after a 400-block transfer: none")
	}
	if slowBase < slow || slowRecent < slowBase || slowRecent > 30*slow {
		t.Fatalf("BlockTimes at %s a block = base %s, recent %s; want base >= %s, recent >= base and < %s", slow, slowBase, slowRecent, slow, 30*slow)
	}

	receive(t, f.addr.String(), "big", io.Discard)
	fastBase, _, ok := f.srv.BlockTimes()
	if !ok || fastBase >= slowBase {
		t.Fatalf("BlockTimes after a fast transfer: base %s, %v; want below the slow one's %s", fastBase, ok, slowBase)
	}
}

// TestBlockClockWindow: the baseline is the least sample of the window and
// is forgotten after it; recent is the mean of the last two slots and
// needs a few samples.
func TestBlockClockWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var c blockClock
	for i := range 3 {
		c.add(time.Millisecond, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if _, _, ok := c.times(t0); ok {
		t.Fatal("times ok with 3 samples")
	}
	c.add(3*time.Millisecond, t0.Add(10*time.Millisecond))
	if b, r, ok := c.times(t0.Add(20 * time.Millisecond)); !ok || b != time.Millisecond || r != 1500*time.Microsecond {
		t.Fatalf("times = %s, %s, %v; want 1ms, 1.5ms", b, r, ok)
	}
	// 10 s on: the baseline stays, the recent samples are gone.
	later := t0.Add(10 * time.Second)
	for range 4 {
		c.add(4*time.Millisecond, later)
	}
	if b, r, ok := c.times(later); !ok || b != time.Millisecond || r != 4*time.Millisecond {
		t.Fatalf("10 s on: times = %s, %s, %v; want 1ms, 4ms", b, r, ok)
	}
	// A window on: the old baseline is forgotten.
	end := t0.Add(blockWindow + time.Second)
	for range 4 {
		c.add(5*time.Millisecond, end)
	}
	if b, r, ok := c.times(end); !ok || b != 4*time.Millisecond || r != 5*time.Millisecond {
		t.Fatalf("a window on: times = %s, %s, %v; want 4ms (the 1ms forgotten), 5ms", b, r, ok)
	}
	if _, _, ok := c.times(end.Add(time.Second)); ok {
		t.Fatal("times ok a second after the last sample")
	}
}
