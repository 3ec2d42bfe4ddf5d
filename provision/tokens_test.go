package provision

import (
	"context"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func TestNamedTokens(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	secret, err := s.AddToken(ctx, ops, "ci-deploy")
	if err != nil || !strings.HasPrefix(secret, "nk_") || len(secret) != 67 {
		t.Fatalf("add: %v %q", err, secret)
	}
	for _, tc := range []struct {
		name, token, err string
		kind             error
	}{
		{"taken", "ci-deploy", "token ci-deploy already exists", inventory.ErrConflict},
		{"bootstrap name", "admin", "bootstrap admin token", inventory.ErrInvalid},
		{"bad name", "CI deploy", "use 1-63 characters", inventory.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.AddToken(ctx, ops, tc.token)
			check(t, err, tc.err, tc.kind)
		})
	}
	// Only the hash is stored.
	raw, _ := st.ListTokens(ctx)
	if len(raw) != 1 || raw[0].Hash != HashToken(secret) || strings.Contains(raw[0].Hash, secret[3:]) {
		t.Fatalf("stored: %+v", raw)
	}
	listed, _ := s.ListTokens(ctx)
	if len(listed) != 1 || listed[0].Hash != "" || listed[0].Name != "ci-deploy" {
		t.Fatalf("listed: %+v", listed)
	}
	if a, ok, err := s.Authenticate(ctx, secret); err != nil || !ok || a.String() != "API token ci-deploy" {
		t.Fatalf("authenticate: %v %v %v", a, ok, err)
	}
	if _, ok, _ := s.Authenticate(ctx, secret+"x"); ok {
		t.Fatal("a wrong secret authenticated")
	}
	if err := s.RevokeToken(ctx, ops, "ci-deploy"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Authenticate(ctx, secret); ok {
		t.Fatal("a revoked token authenticated")
	}
	check(t, s.RevokeToken(ctx, ops, "ci-deploy"), "token \"ci-deploy\": not found", inventory.ErrNotFound)
}
