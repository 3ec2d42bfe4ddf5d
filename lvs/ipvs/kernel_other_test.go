//go:build !(linux && amd64)

package ipvs

import (
	"context"
	"errors"
	"testing"
)

// TestUnsupportedPlatform: where libipvs does not build, Open says so.
func TestUnsupportedPlatform(t *testing.T) {
	if _, err := Open(context.Background(), 0); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Open = %v, want ErrUnsupported", err)
	}
}
