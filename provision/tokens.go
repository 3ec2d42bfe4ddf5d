package provision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/netkick/netkick/inventory"
)

// HashToken is how a token's secret is stored: SHA-256, hex. The secrets
// are 256 random bits, so a fast hash is enough.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// AddToken makes a named API token and returns its secret, which is shown
// once and stored only hashed.
func (s *Service) AddToken(ctx context.Context, a Actor, name string) (_ string, err error) {
	defer func() { s.audit(a, "token add", on(name), err) }()
	ts := s.o.Store
	if err := inventory.ValidateName("token", name); err != nil {
		return "", err
	}
	if name == AdminTokenName {
		return "", fail(inventory.ErrInvalid, "choose another name", "token name %q is the bootstrap admin token's", name)
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(s.o.Random, raw); err != nil {
		return "", fmt.Errorf("make token %s: %w", name, err)
	}
	secret := "nk_" + hex.EncodeToString(raw)
	if err := ts.AddToken(ctx, inventory.APIToken{Name: name, Hash: HashToken(secret), Created: s.o.Now()}); err != nil {
		return "", err
	}
	return secret, nil
}

// ListTokens lists the named tokens (names and dates; never secrets or hashes).
func (s *Service) ListTokens(ctx context.Context) ([]inventory.APIToken, error) {
	ts := s.o.Store
	l, err := ts.ListTokens(ctx)
	for i := range l {
		l[i].Hash = ""
	}
	return l, err
}

// RevokeToken deletes a named token: requests with it are refused from now on.
func (s *Service) RevokeToken(ctx context.Context, a Actor, name string) (err error) {
	defer func() { s.audit(a, "token revoke", on(name), err) }()
	return s.o.Store.DeleteToken(ctx, name)
}

// AdminTokenName names the bootstrap admin token (<data>/admin.token) on timelines.
const AdminTokenName = "admin"

// Authenticate finds the named token with this secret; ok is false for none.
func (s *Service) Authenticate(ctx context.Context, secret string) (a Actor, ok bool, err error) {
	if secret == "" {
		return Actor{}, false, nil
	}
	t, err := s.o.Store.TokenByHash(ctx, HashToken(secret))
	if errors.Is(err, inventory.ErrNotFound) {
		return Actor{}, false, nil
	}
	if err != nil {
		return Actor{}, false, err
	}
	return Actor{Via: "api", Name: t.Name}, true, nil
}
