package tftp

import (
	"io"
	"sync"
	"time"
)

// Block times: a transfer is lock step, so the time between the reads of
// two consecutive blocks is one block's round trip (send, the client's
// ACK, the next read). While the CPUs keep up it stays at the path's own
// round trip; once they are saturated every transfer added only lengthens
// everyone's. The server keeps two figures over its transfers: a baseline
// (the lowest per-block time of the last blockWindow) and the recent
// typical one (the mean of the last blockSlot or two), which the DHCP
// server's admission paces first-stage machines by (dhcp.Load).

const (
	// blockSample is how many blocks one sample spans: one lock per that
	// many blocks, and a sample long enough that one late ACK does not
	// make it.
	blockSample = 32
	// blockSampleMin is the fewest blocks a transfer's last, partial
	// sample counts with (a generated config of one block says nothing).
	blockSampleMin = 8
	// blockSlot is the span of one slot of the ring; blockSlots of them
	// make the window the baseline is the minimum of, so a baseline
	// from before a change of network or of machine is forgotten.
	blockSlot   = 250 * time.Millisecond
	blockSlots  = 80 // 20 s
	blockWindow = blockSlots * blockSlot
	// recentMinSamples: fewer samples in the recent slots say nothing yet.
	recentMinSamples = 4
)

// blockSlotStats is one slot's samples.
type blockSlotStats struct {
	index int64 // the slot's number since the epoch (0: unused)
	min   time.Duration
	sum   time.Duration
	n     int
}

// blockClock keeps the per-block times of recent transfers. Safe for
// concurrent use.
type blockClock struct {
	mu    sync.Mutex
	slots [blockSlots]blockSlotStats
}

func slotIndex(now time.Time) int64 { return now.UnixNano()/int64(blockSlot) + 1 }

// add records a sample: per is the time per block over blocks blocks.
func (c *blockClock) add(per time.Duration, now time.Time) {
	i := slotIndex(now)
	c.mu.Lock()
	s := &c.slots[i%blockSlots]
	if s.index != i {
		*s = blockSlotStats{index: i, min: per}
	}
	s.min = min(s.min, per)
	s.sum += per
	s.n++
	c.mu.Unlock()
}

// times returns the baseline (the least per-block time of the window) and
// the recent per-block time (the mean of this slot's samples and the
// last's); ok is false while the recent slots hold too few samples.
func (c *blockClock) times(now time.Time) (base, recent time.Duration, ok bool) {
	cur := slotIndex(now)
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum time.Duration
	n := 0
	for k := range c.slots {
		s := &c.slots[k]
		if s.index == 0 || s.index > cur || cur-s.index >= blockSlots {
			continue
		}
		if base == 0 || s.min < base {
			base = s.min
		}
		if cur-s.index <= 1 {
			sum += s.sum
			n += s.n
		}
	}
	if n < recentMinSamples || base <= 0 {
		return 0, 0, false
	}
	return base, sum / time.Duration(n), true
}

// timedReader times a transfer's blocks: the library reads one block
// (io.ReadFull of blksize) after the client acknowledged the one before.
// A read of a whole block's buffer begins a block; a shorter one goes on
// filling the same block (a reader that returned short). Only the
// transfer's goroutine uses it.
type timedReader struct {
	r     io.Reader
	clock *blockClock
	size  int       // the block's buffer (the first read's)
	reads int       // blocks begun since mark
	mark  time.Time // the read that began the sample
}

func (t *timedReader) Read(p []byte) (int, error) {
	switch {
	case t.size == 0:
		t.size, t.mark = len(p), time.Now()
	case len(p) >= t.size:
		t.reads++
		if t.reads >= blockSample {
			t.sample(time.Now())
		}
	}
	return t.r.Read(p)
}

func (t *timedReader) sample(now time.Time) {
	if t.reads > 0 {
		t.clock.add(now.Sub(t.mark)/time.Duration(t.reads), now)
	}
	t.reads, t.mark = 0, now
}

// finish records the transfer's last, partial sample when it spans
// enough blocks (call it after a successful transfer: its last block was
// acknowledged).
func (t *timedReader) finish(now time.Time) {
	if t.reads >= blockSampleMin {
		t.sample(now)
	}
}

// BlockTimes is the per-block time of the transfers of the last 20 s at
// its lowest (base) and of the last quarter to half second on average
// (recent); ok is false while too few blocks were sent lately to say.
// The DHCP server's admission paces first-stage machines by it (dhcp.Load).
func (s *Server) BlockTimes() (base, recent time.Duration, ok bool) {
	return s.blocks.times(time.Now())
}
