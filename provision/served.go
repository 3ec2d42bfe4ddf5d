package provision

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/netkick/netkick/kickstart"
)

// ServedFile is where a server records, in its own data directory, what it
// renders with: the CLI's local render reads it, so `netkick render` gives
// the bytes the server serves.
const ServedFile = "served.json"

// Served is what a running server renders with.
type Served struct {
	// PublicURL is the base of every URL the server gives machines.
	PublicURL string `json:"public_url"`
	// Kickstart are the renderer's options (templates, subnets, repository).
	Kickstart kickstart.Options `json:"kickstart"`
}

// WriteServed records s in dir (written to a temporary file and renamed, so
// a reader never sees half of it).
func WriteServed(dir string, s Served) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ServedFile+".*")
	if err != nil {
		return fmt.Errorf("record the served settings in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("record the served settings in %s: %w", dir, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, ServedFile))
}

// ReadServed reads what a server recorded in dir; an error wrapping
// os.ErrNotExist means no server has run on dir.
func ReadServed(dir string) (*Served, error) {
	b, err := os.ReadFile(filepath.Join(dir, ServedFile))
	if err != nil {
		return nil, err
	}
	var s Served
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it; the next `netkick serve` writes it again)", filepath.Join(dir, ServedFile), err)
	}
	return &s, nil
}
