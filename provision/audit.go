package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/netkick/netkick/internal/redact"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/power"
)

// audit writes the audit line of a change: who made it (or asked for it),
// the operation, and the host (hostname and MAC) or other entry it was on.
// A change that was refused or failed (err != nil) gets its line too, at
// warn, with its outcome (see outcomeOf) and the reason: the error's text,
// with secrets redacted as the access log's paths are (redact.Text), on one
// line of at most maxReason bytes. It never carries values: what changed is
// on the host's timeline, and passwords, hashes and tokens stay out of both.
func (s *Service) audit(a Actor, op string, target auditTarget, err error) {
	if s.o.Audit == nil {
		return
	}
	level := slog.LevelInfo
	attrs := []slog.Attr{slog.String("by", a.String()), slog.String("op", op), slog.String(target.key, target.value)}
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("outcome", outcomeOf(err)), slog.String("reason", auditReason(err)))
	}
	s.o.Audit.LogAttrs(context.Background(), level, "audit", attrs...)
}

// AuditRefused writes the audit line of a change refused before it reached
// an operation of the service (a request without a valid admin token): who
// asked (a), what was asked (op, e.g. the method and route), the host it
// named ("" when none) and the reason.
func (s *Service) AuditRefused(a Actor, op, host, reason string) {
	t := on("")
	if host != "" {
		t = onHost(nil, host)
	}
	s.audit(a, inventory.CleanText(op, 200), t, &Error{Kind: ErrRefused, Msg: reason})
}

// maxReason bounds the reason an audit line carries.
const maxReason = 300

// outcomeOf says what became of a change that returned err: "refused" when a
// rule, a missing or wrong token, a stale ETag, a conflict, a missing entry
// or the BMC said no; "failed" for everything else (the store, a BMC that
// did not answer, a cancelled request).
func outcomeOf(err error) string {
	for _, kind := range []error{ErrStale, ErrInUse, ErrRefused, inventory.ErrInvalid, inventory.ErrNotFound, inventory.ErrConflict, power.ErrRefused, power.ErrAuth} {
		if errors.Is(err, kind) {
			return "refused"
		}
	}
	return "failed"
}

// auditReason is err's text for an audit line: a machine's refusal reason
// (see Reason), secrets redacted, on one line, bounded.
func auditReason(err error) string {
	return inventory.CleanText(redact.Text(Reason(err)), maxReason)
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
	return auditTarget{"host", inventory.CleanText(key, 100)}
}

// onHostNamed is onHost for results that carry the MAC and hostname apart.
func onHostNamed(hostname, mac, key string) auditTarget {
	switch {
	case hostname != "" && mac != "":
		return auditTarget{"host", hostname + " (" + mac + ")"}
	case mac != "":
		return auditTarget{"host", mac}
	}
	return auditTarget{"host", inventory.CleanText(key, 100)}
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
