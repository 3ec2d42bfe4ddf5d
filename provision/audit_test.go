package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/power"
)

func TestOutcomeOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"stale ETag", fail(ErrStale, "", "host a01 changed"), "refused"},
		{"a rule", fmt.Errorf("%w: hostname", inventory.ErrInvalid), "refused"},
		{"no such host", fmt.Errorf("host x: %w", inventory.ErrNotFound), "refused"},
		{"taken", fmt.Errorf("%w: MAC taken", inventory.ErrConflict), "refused"},
		{"still in use", fail(ErrInUse, "", "profile p is in use"), "refused"},
		{"a machine refused", refused(errors.New("not in build mode")), "refused"},
		{"the BMC refused the password", fmt.Errorf("host a01: %w", power.ErrAuth), "refused"},
		{"the BMC refused the action", fmt.Errorf("host a01: %w", power.ErrRefused), "refused"},
		{"the BMC did not answer", fmt.Errorf("host a01: %w", power.ErrNoAnswer), "failed"},
		{"the request was cancelled", context.Canceled, "failed"},
		{"the store failed", errors.New("inventory database x: disk I/O error"), "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := outcomeOf(tc.err); got != tc.want {
				t.Fatalf("outcomeOf(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}
}

// TestAuditRefusedAndFailed: a change that succeeds has its line at info as
// before; refused ones (a stale ETag, a host that does not exist, a rule, a
// machine's fetch with a wrong token, a request without a token) have theirs
// at warn with the outcome and the reason, secrets redacted.
func TestAuditRefusedAndFailed(t *testing.T) {
	s, _ := newTestService(t)
	var buf bytes.Buffer
	s.o.Audit = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	ctx := context.Background()
	tz := "Asia/Tokyo"
	h, err := s.Set(ctx, ops, "a01", Change{Timezone: &tz}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(ctx, ops, "a01", Change{Timezone: &tz}, `"stale"`); !errors.Is(err, ErrStale) {
		t.Fatalf("a stale ETag: %v", err)
	}
	if _, err := s.Remove(ctx, ops, "nosuch", ""); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("removing a host that does not exist: %v", err)
	}
	const pw = "urlpassword1234"
	if err := s.PutProfile(ctx, ops, &inventory.Profile{Name: "p2", OS: "centos", Version: "7.9", InstallURL: "ftp://u:" + pw + "@mirror/os"}); !errors.Is(err, inventory.ErrInvalid) {
		t.Fatalf("a profile with an ftp:// install URL: %v", err)
	}
	if _, err := s.Build(ctx, ops, "b02", 0); err != nil {
		t.Fatal(err)
	}
	const wrong = "wrongtoken0123456789"
	if _, err := s.Kickstart(ctx, macB02, Requester{Addr: "192.0.2.50", Token: wrong}); !errors.Is(err, ErrRefused) {
		t.Fatalf("a kickstart fetch with a wrong token: %v", err)
	}
	s.AuditRefused(Actor{Via: "unauthenticated", Name: "192.0.2.9"}, "PATCH /api/v1/hosts/:mac", macA01, "admin token missing or wrong")
	log := buf.String()
	q := regexp.QuoteMeta
	for _, want := range []string{
		`^level=INFO msg=audit by="local CLI \(ops\)" op="host set" host="a01 \(` + q(h.ID()) + `\)"$`,
		`^level=WARN msg=audit by="local CLI \(ops\)" op="host set" host=a01 outcome=refused reason="[^"]*changed since`,
		`^level=WARN msg=audit by="local CLI \(ops\)" op="host remove" host=nosuch outcome=refused reason="host \\"nosuch\\": not found`,
		`^level=WARN msg=audit by="local CLI \(ops\)" op="profile put" target=p2 outcome=refused reason=".*ftp://u:REDACTED@mirror/os`,
		`^level=INFO msg=audit by="local CLI \(ops\)" op="host build" host="b02 \(` + q(macB02) + `\)"$`,
		`^level=WARN msg=audit by="the machine at 192.0.2.50" op="kickstart fetch" host=` + q(macB02) + ` outcome=refused reason="[^"]*token`,
		`^level=WARN msg=audit by="an unauthenticated client at 192.0.2.9" op="PATCH /api/v1/hosts/:mac" host=` + q(macA01) + ` outcome=refused reason="admin token missing or wrong"$`,
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(log) {
			t.Errorf("no audit line matches %s", want)
		}
	}
	for _, secret := range []string{pw, wrong} {
		if strings.Contains(log, secret) {
			t.Errorf("the audit log holds %q", secret)
		}
	}
	if t.Failed() {
		t.Logf("audit log:\n%s", log)
	}
}
