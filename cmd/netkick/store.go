package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/netkick/netkick/inventory"
	"github.com/spf13/cobra"
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

// storeCmd is `netkick store`: moving an inventory between stores.
func storeCmd(a *app) *cobra.Command {
	var from, to string
	migrate := &cobra.Command{
		Use:   "migrate --from sqlite://DIR --to postgres://HOST/DB",
		Short: "copy an inventory (hosts, profiles, layouts, clusters, timelines, leases, API tokens, BMC settings) into a new, empty store and verify the counts",
		Long: `Copies everything from one store into another that is still empty, for
example from a server's SQLite data directory into the PostgreSQL database
that several servers will share, then counts both and fails if they differ.
Stop the servers using the source first, so that nothing changes during the
copy. --from sqlite://DIR takes DIR/inventory.db (or a database file);
the PostgreSQL password comes from PGPASSFILE or the PG* environment.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return usageError{"want both --from and --to, e.g. --from sqlite:///var/lib/netkick --to postgres://db/netkick"}
			}
			src, err := parseMigrateEnd(from)
			if err != nil {
				return err
			}
			dst, err := parseMigrateEnd(to)
			if err != nil {
				return err
			}
			if src.String() == dst.String() {
				return usageError{"--from and --to name the same store"}
			}
			if src.path != "" {
				if _, err := os.Stat(src.path); err != nil {
					return fmt.Errorf("--from %s: %w (name the data directory of the server, or its inventory.db)", from, err)
				}
			}
			ctx := c.Context()
			fs, err := src.open(ctx)
			if err != nil {
				return err
			}
			defer fs.Close()
			ts, err := dst.open(ctx)
			if err != nil {
				return err
			}
			defer ts.Close()
			n, err := inventory.CopyStore(ctx, fs, ts)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "copied %s from %s to %s; counts verified\n", n, src, dst)
			return nil
		},
	}
	migrate.Flags().StringVar(&from, "from", "", "source store: sqlite://DIR (a data directory), sqlite:///path/inventory.db or postgres://HOST/DB")
	migrate.Flags().StringVar(&to, "to", "", "target store, empty: postgres://HOST/DB or sqlite:///path/inventory.db")
	return group("store", "move an inventory between the embedded SQLite store and PostgreSQL", migrate)
}

// parseMigrateEnd is parseStore where sqlite:// may also name a data directory.
func parseMigrateEnd(spec string) (storeTarget, error) {
	t, err := parseStore(spec, "")
	if err != nil {
		return t, err
	}
	if t.path != "" {
		if fi, err := os.Stat(t.path); err == nil && fi.IsDir() {
			t.path = filepath.Join(t.path, "inventory.db")
		}
	}
	return t, nil
}
