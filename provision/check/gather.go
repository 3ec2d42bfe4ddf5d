package check

// The I/O side: small functions that read the system into Facts. The checks
// above never call them.

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

// StatFiles stats each clean path under root.
func StatFiles(root string, paths []string) map[string]File {
	out := map[string]File{}
	for _, p := range paths {
		st, err := os.Stat(filepath.Join(root, filepath.FromSlash(p)))
		switch {
		case err == nil && st.IsDir():
			out[p] = File{Exists: true, Err: "is a directory, not a file"}
		case err == nil:
			out[p] = File{Exists: true, Size: st.Size()}
		case errors.Is(err, fs.ErrNotExist):
			out[p] = File{}
		default:
			out[p] = File{Err: err.Error()}
		}
	}
	return out
}

// SecureBootFacts reads the shim and kernel of every profile booted through
// GRUB (UsesGRUB) and names the vendor whose key each carries. Files that
// cannot be read are left out (the profile-files and loader checks say so).
func SecureBootFacts(root string, hosts []inventory.Host, profiles []inventory.Profile) []SecureBoot {
	var out []SecureBoot
	for _, p := range UsesGRUB(hosts, profiles) {
		loader, kernel := localPath(boot.ShimFile(&p)), localPath(p.Kernel)
		if loader == "" || kernel == "" {
			continue
		}
		lb, err1 := os.ReadFile(filepath.Join(root, filepath.FromSlash(loader)))
		kb, err2 := os.ReadFile(filepath.Join(root, filepath.FromSlash(kernel)))
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, SecureBoot{Profile: p.Name, Loader: loader, LoaderVendor: boot.SecureBootVendor(lb),
			Kernel: kernel, KernelVendor: boot.SecureBootVendor(kb)})
	}
	return out
}

// InterfaceFacts says whether the named interface exists and its IPv4 addresses.
func InterfaceFacts(name string) (bool, []netip.Prefix) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return false, nil
	}
	addrs, _ := ifc.Addrs()
	var out []netip.Prefix
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if p, err := netip.ParsePrefix(n.String()); err == nil && p.Addr().Is4() {
				out = append(out, p)
			}
		}
	}
	return true, out
}

// TokenFacts reads the admin token file's mode.
func TokenFacts(path string) *TokenFile {
	st, err := os.Stat(path)
	if err != nil {
		return &TokenFile{Path: path}
	}
	return &TokenFile{Path: path, Exists: true, Mode: st.Mode()}
}

// StoreFacts runs SQLite's PRAGMA integrity_check on db.
func StoreFacts(ctx context.Context, db *sql.DB, path string) *Store {
	s := &Store{Path: path}
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		s.OpenErr = "integrity check: " + err.Error()
		return s
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			s.OpenErr = "integrity check: " + err.Error()
			return s
		}
		s.Integrity = append(s.Integrity, line)
	}
	if err := rows.Err(); err != nil {
		s.OpenErr = "integrity check: " + err.Error()
	}
	return s
}

// ProbePort tries to bind addr (network "tcp" or "udp") and closes it at
// once. When that fails, self (given the holder's pid, 0 when unknown) says
// whether the holder is this installation's own server.
func ProbePort(name, network, addr string, self func(pid int) bool) Port {
	p := Port{Name: name, Addr: addr}
	var err error
	if network == "tcp" {
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			l.Close()
		}
	} else {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp", addr); err == nil {
			c.Close()
		}
	}
	if err == nil {
		p.Bindable = true
		return p
	}
	p.Err = err.Error()
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		p.Err = oe.Err.Error()
		var se *os.SyscallError
		if errors.As(oe.Err, &se) {
			p.Err = se.Err.Error()
		}
	}
	if port := portNumber(addr); port > 0 {
		if pid := HolderOf(network, port); pid > 0 {
			p.Holder = fmt.Sprintf("pid %d (%s)", pid, procName(pid))
			p.HeldBySelf = self != nil && self(pid)
			return p
		}
	}
	p.HeldBySelf = self != nil && self(0)
	return p
}

func portNumber(addr string) int {
	_, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(ps)
	return n
}

// HolderOf finds the process holding a local port through /proc (Linux):
// the socket's inode in /proc/net/{tcp,udp}{,6}, then the process with that
// inode among its file descriptors. 0 when not found (another user's
// process, or no /proc).
func HolderOf(network string, port int) int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/" + network, "/proc/net/" + network + "6"} {
		for _, ino := range socketInodes(f, network == "tcp", port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	procs, _ := os.ReadDir("/proc")
	for _, d := range procs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", d.Name(), "fd"))
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join("/proc", d.Name(), "fd", fd.Name()))
			if err == nil && strings.HasPrefix(l, "socket:[") && inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] {
				return pid
			}
		}
	}
	return 0
}

// socketInodes reads a /proc/net table: the inodes of sockets bound to port
// (TCP: listening ones only).
func socketInodes(file string, tcp bool, port int) []string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || int(n) != port || (tcp && fields[3] != "0A") {
			continue
		}
		out = append(out, fields[9])
	}
	return out
}

func procName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// ServeProc is what a `netkick serve` process was started with, as far as
// its data directory goes: the caller resolves it the way serve does.
type ServeProc struct {
	Data    string // its --data, "" when not given
	Config  string // its --config file (absolute), "" when not given
	EnvData string // NETKICK_DATA in its environment
	Cwd     string // its working directory
}

// ServeProcess says whether pid is a `netkick serve`, and with what (Linux /proc).
func ServeProcess(pid int) (ServeProc, bool) {
	var p ServeProc
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return p, false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "netkick") {
		return p, false
	}
	serve := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		for _, name := range []string{"data", "config"} {
			v, ok := "", false
			if a == "--"+name && i+1 < len(args) {
				v, ok = args[i+1], true
				i++
			} else if x, found := strings.CutPrefix(a, "--"+name+"="); found {
				v, ok = x, true
			}
			if ok && name == "data" {
				p.Data = v
			} else if ok {
				p.Config = v
			}
		}
		serve = serve || a == "serve"
	}
	if !serve {
		return p, false
	}
	env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	for _, kv := range strings.Split(string(env), "\x00") {
		if v, ok := strings.CutPrefix(kv, "NETKICK_DATA="); ok {
			p.EnvData = v
		}
	}
	p.Cwd, _ = os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if p.Config != "" && !filepath.IsAbs(p.Config) {
		p.Config = filepath.Join(p.Cwd, p.Config)
	}
	return p, true
}

// SameDir says whether two paths name the same directory.
func SameDir(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
