package boot

import (
	"strings"
	"time"

	"github.com/netkick/netkick/inventory"
)

// EventKindHint is the kind of the timeline events netkick adds when it
// reads something from a host's timeline that the host cannot say itself.
const EventKindHint = "hint"

// StallQuiet is how long after a first-stage loader was sent a host must be
// silent (nothing but DHCP) before LoaderStalled calls it refused. A loader
// that runs asks for its next file within seconds, even under emulation.
const StallQuiet = 30 * time.Second

// stallHints are the first stages whose silence LoaderStalled explains.
var stallHints = []struct{ file, hint string }{
	{FileIPXEEFI, "loader fetched, nothing further: a Secure Boot refusal is the usual cause; use the grub loader"},
	{FileSnponlyEFI, "loader fetched, nothing further: a Secure Boot refusal is the usual cause; use the grub loader"},
	{FileShim, "shim fetched, nothing further: the firmware refused shim (is Microsoft's UEFI CA in its db?) or " + FileGRUB + " is missing beside it"},
}

// LoaderStalled decides from a host's timeline (oldest first) whether the
// UEFI loader netkick last sent it (over TFTP, or HTTP boot) never ran: it was sent at least
// quiet (StallQuiet in production) before now, and since then the host asked for nothing (only
// DHCP, and no DHCP from iPXE, which would mean iPXE runs). It returns the
// hint to put on the timeline, "" when there is nothing to say, and says it
// once per fetch. A firmware that refuses an unsigned binary under Secure
// Boot says so only on its own console ("Access Denied"): this is how
// netkick can tell.
func LoaderStalled(events []inventory.Event, now time.Time, quiet time.Duration) string {
	last, hint := -1, ""
	for i, e := range events {
		if e.Kind != inventory.KindTFTP && e.Kind != inventory.KindHTTPBoot {
			continue
		}
		for _, h := range stallHints {
			if sentFile(e.Detail, h.file) {
				last, hint = i, h.hint
			}
		}
	}
	if last < 0 || now.Sub(events[last].Time) < quiet {
		return ""
	}
	for _, e := range events[last+1:] {
		switch {
		case e.Kind == EventKindHint:
			return "" // already said
		case strings.HasPrefix(e.Kind, "dhcp-") && !strings.Contains(e.Detail, "/boot.ipxe"):
			// The firmware trying its next network entry (PXE again, HTTP boot).
		default:
			return "" // the loader ran: it fetched something, or iPXE asked DHCP
		}
	}
	return hint
}

// StallWatched reports whether a boot file sent over TFTP is a first stage
// whose silence LoaderStalled explains: check the timeline StallQuiet later.
func StallWatched(name string) bool {
	for _, h := range stallHints {
		if name == h.file || strings.HasSuffix(name, "/"+h.file) {
			return true
		}
	}
	return false
}

// sentFile matches a fetch event detail "sent NAME (…" (or "served NAME …")
// for a loader by base name, so a profile's own dir/shimx64.efi, and the
// same loader fetched again over HTTP boot, count too.
func sentFile(detail, file string) bool {
	name, ok := strings.CutPrefix(detail, "sent ")
	if !ok {
		if name, ok = strings.CutPrefix(detail, "served "); !ok {
			return false
		}
	}
	name, _, _ = strings.Cut(name, " ")
	return name == file || strings.HasSuffix(name, "/"+file)
}
