package provision

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/netkick/netkick/inventory"
)

// audit writes the audit line of a change that succeeded (err == nil): who
// made it, the operation, and the host (hostname and MAC) or other entry it
// was on. It never carries values: what changed is on the host's timeline,
// and passwords, hashes and tokens stay out of both.
func (s *Service) audit(a Actor, op string, target auditTarget, err error) {
	if s.o.Audit == nil || err != nil {
		return
	}
	s.o.Audit.LogAttrs(context.Background(), slog.LevelInfo, "audit",
		slog.String("by", a.String()), slog.String("op", op), slog.String(target.key, target.value))
}

// auditTarget is what a change was on: a host or another entry.
type auditTarget struct{ key, value string }

// onHost names a host as "hostname (mac)"; with no host value (the change
// failed before one was read), the key the caller gave.
func onHost(h *inventory.Host, key string) auditTarget {
	switch {
	case h != nil && h.Hostname != "" && h.ID() != "":
		return auditTarget{"host", h.Hostname + " (" + h.ID() + ")"}
	case h != nil && h.ID() != "":
		return auditTarget{"host", h.ID()}
	}
	return auditTarget{"host", key}
}

// onHostNamed is onHost for results that carry the MAC and hostname apart.
func onHostNamed(hostname, mac, key string) auditTarget {
	switch {
	case hostname != "" && mac != "":
		return auditTarget{"host", hostname + " (" + mac + ")"}
	case mac != "":
		return auditTarget{"host", mac}
	}
	return auditTarget{"host", key}
}

// on names another entry (a profile, a token, an import).
func on(name string) auditTarget { return auditTarget{"target", name} }

// importSummary says what an import changed, by count.
func importSummary(r *ImportResult) string {
	if r == nil {
		return "import"
	}
	return fmt.Sprintf("%s: %d added, %d updated, %d removed", r.Mode, len(r.Added), len(r.Updated), len(r.Removed))
}
