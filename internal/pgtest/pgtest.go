// Package pgtest starts a throw-away PostgreSQL server for tests: Debian's
// PostgreSQL 15 binaries, initdb into a temporary directory, pg_ctl on a
// loopback port and a Unix socket in that directory, stopped (and the
// directory removed) in t.Cleanup. Without PostgreSQL the test is skipped,
// or fails under CI=true.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/netkick/netkick/internal/testenv"
)

// binDirs are where Debian installs the server binaries, newest first.
var binDirs = []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"}

// Server is a running test PostgreSQL.
type Server struct {
	Dir  string // data directory and socket directory
	Port int
	User string
	dbs  atomic.Int64
	// pgctl runs pg_ctl (as the postgres user when the test is root) with
	// the data directory and options; Stop and Restart use it.
	pgctl func(args ...string) *exec.Cmd
}

// Stop stops the server at once (an outage, for the tests of what clients
// do without it); Restart starts it again on the same port.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if out, err := s.pgctl("-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// Restart starts a server Stop stopped.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if out, err := s.pgctl("-l", filepath.Join(s.Dir, "log"), "-w", "-o", s.opts(), "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.Dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

func (s *Server) opts() string {
	return fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1 -c max_connections=200", s.Dir, s.Port)
}

func findBin(name string) string {
	for _, d := range binDirs {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Start initialises and starts a server; t.Cleanup stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	initdb, pgctl := findBin("initdb"), findBin("pg_ctl")
	if initdb == "" || pgctl == "" {
		testenv.Missing(t, "PostgreSQL server binaries (initdb, pg_ctl) are not installed (scripts/deps.sh installs Debian's postgresql)")
		return nil
	}
	// PostgreSQL refuses to run as root: as root it runs as the postgres
	// user, in a directory that user may enter (t.TempDir is root's, 0700).
	var run []string
	dbUser := ""
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			testenv.Missing(t, "user postgres does not exist (Debian's postgresql package creates it)")
			return nil
		}
		run, dbUser = []string{"runuser", "-u", "postgres", "--"}, "postgres"
	} else {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		dbUser = u.Username
	}
	dir, err := os.MkdirTemp("", "netkick-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if run != nil {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", "postgres:", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown %s: %v: %s", dir, err, out)
		}
	}
	data := filepath.Join(dir, "data")
	// command runs a server binary, as the postgres user when we are root.
	command := func(bin string, args ...string) *exec.Cmd {
		argv := append(append(append([]string(nil), run...), bin), args...)
		return exec.Command(argv[0], argv[1:]...)
	}
	if out, err := command(initdb, "-D", data, "-A", "trust", "-U", dbUser, "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	srv := &Server{Dir: dir, Port: freePort(t), User: dbUser, pgctl: func(args ...string) *exec.Cmd {
		return command(pgctl, append([]string{"-D", data}, args...)...)
	}}
	srv.Restart(t)
	t.Cleanup(func() {
		// Stopped already (a test's outage not ended) is fine.
		if srv.pgctl("status").Run() != nil {
			return
		}
		if out, err := srv.pgctl("-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	return srv
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// URL is the connection URL of database db (no password: trust auth).
func (s *Server) URL(db string) string {
	return "postgres://" + s.User + "@127.0.0.1:" + strconv.Itoa(s.Port) + "/" + db + "?sslmode=disable"
}

// SocketURL is the URL of database db through the server's Unix socket,
// which processes in other network namespaces reach too.
func (s *Server) SocketURL(db string) string {
	return "postgres:///" + db + "?host=" + s.Dir + "&port=" + strconv.Itoa(s.Port) + "&user=" + s.User + "&sslmode=disable"
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := "t" + strconv.FormatInt(s.dbs.Add(1), 10)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return s.URL(name)
}
