package inventory

import "time"

// A removed host leaves a tombstone (host_deletions: its ID, the generation
// and the time of its removal) so that readers patching a copy of the host
// list (HostsChangedSince) learn of the removal. Tombstones are pruned when a
// host is removed, in the same transaction, by TombstoneRetention; the
// generation through which they were pruned is kept (meta.tombstones_pruned),
// and a reader asking for the changes since a generation older than that is
// answered with every host (HostChanges.Full) instead of a patch that would
// miss a removal.

// Default tombstone retention: a day of removals, at most 1,000 of them. A
// reader more than a day or 1,000 removals behind reloads every host, which
// then costs little more than the patch would.
const (
	DefaultTombstoneAge   = 24 * time.Hour
	DefaultTombstoneCount = 1000
)

// TombstoneRetention says which tombstones of removed hosts are kept.
type TombstoneRetention struct {
	// Age: tombstones older than this go (0: no age limit).
	Age time.Duration
	// Count: at most this many, the newest, are kept (0: no count limit).
	Count int
}

// DefaultTombstoneRetention is the retention stores start with.
func DefaultTombstoneRetention() TombstoneRetention {
	return TombstoneRetention{Age: DefaultTombstoneAge, Count: DefaultTombstoneCount}
}

// limit is how many tombstones, newest first, pruneThrough needs to see
// (-1: all of them).
func (r TombstoneRetention) limit() int {
	if r.Count > 0 {
		return r.Count + 1
	}
	return -1
}

// tombstone is what pruning looks at: the generation and time of a removal.
type tombstone struct {
	gen     int64
	removed time.Time
}

// pruneThrough decides which tombstones go. newest holds the newest ones,
// newest first (keep.limit() of them, or all). It returns the generation
// through which tombstones go: every tombstone at or below it, which takes
// the first one (newest first) that is older than keep.Age or beyond the
// keep.Count newest, and everything older. 0: none goes.
func pruneThrough(newest []tombstone, now time.Time, keep TombstoneRetention) int64 {
	for i, t := range newest {
		if keep.Count > 0 && i >= keep.Count || keep.Age > 0 && now.Sub(t.removed) > keep.Age {
			return t.gen
		}
	}
	return 0
}

// mustReload reports whether a reader at generation since can no longer be
// told every removal after it, tombstones through generation pruned being
// gone: it must read every host again.
func mustReload(since, pruned int64) bool { return since >= 0 && since < pruned }
