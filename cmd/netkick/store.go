package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// storeTarget is where the inventory lives: a SQLite file or a PostgreSQL
// database (exactly one is set).
type storeTarget struct {
	path string // SQLite database file
	url  string // postgres:// URL, no password in it
}

// parseStore reads --store (or `store:`): empty is <data>/inventory.db.
// A PostgreSQL URL may not hold a password: the command line is visible in
// ps, and a config file is easily shared; libpq's PGPASSFILE (or
// ?passfile=FILE) and PGPASSWORD/PG* environment variables carry it instead.
func parseStore(spec, data string) (storeTarget, error) {
	switch {
	case spec == "":
		return storeTarget{path: filepath.Join(data, "inventory.db")}, nil
	case strings.HasPrefix(spec, "sqlite://"):
		p := strings.TrimPrefix(spec, "sqlite://")
		if p == "" {
			return storeTarget{}, usageError{"--store sqlite://PATH needs a path"}
		}
		return storeTarget{path: p}, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		u, err := url.Parse(spec)
		if err != nil {
			return storeTarget{}, usageError{fmt.Sprintf("--store: not a URL: %v; want postgres://HOST[:PORT]/DB", err)}
		}
		if _, has := u.User.Password(); has || u.Query().Has("password") {
			return storeTarget{}, usageError{"--store: the PostgreSQL URL holds a password; remove it and put it in a password file (PGPASSFILE=FILE or ?passfile=FILE, lines host:port:db:user:password, mode 0600) or PGPASSWORD"}
		}
		return storeTarget{url: spec}, nil
	default:
		return storeTarget{}, usageError{fmt.Sprintf("--store %q: want sqlite:///path/inventory.db or postgres://HOST[:PORT]/DB", spec)}
	}
}

func (t storeTarget) String() string {
	if t.url != "" {
		return t.url
	}
	return "sqlite://" + t.path
}

// open opens (creating and migrating) the store.
func (t storeTarget) open(ctx context.Context) (inventory.Store, error) {
	if t.url != "" {
		return inventory.OpenPostgres(ctx, t.url)
	}
	return inventory.OpenSQLite(t.path)
}
