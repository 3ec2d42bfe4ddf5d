// Package bootfs is the boot tree that TFTP and HTTP both serve: regular files
// under the boot root, opened through os.Root so that no name and no symbolic
// link reaches outside it, plus the pxelinux configs that boot decides and
// that never exist on disk.
package bootfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

// Errors callers map to protocol replies (TFTP error, HTTP status).
var (
	// ErrNotFound: the name is acceptable but no such file is in the boot root.
	ErrNotFound = errors.New("boot file not found")
	// ErrRefused: the name or what it resolves to is not allowed (see boot.CleanPath).
	ErrRefused = errors.New("boot file refused")
)

// Lookup is what the tree needs from the inventory to generate configs.
type Lookup interface {
	GetHost(ctx context.Context, key string) (*inventory.Host, error)
	GetProfile(ctx context.Context, name string) (*inventory.Profile, error)
}

// TokenFunc returns the host's current one-time build token for its kickstart
// URL; "" means none. A nil TokenFunc uses the token stored on the host
// (inventory.Host.BuildToken).
type TokenFunc func(ctx context.Context, h *inventory.Host) (string, error)

// Binder decides whether the requester of a generated config is the machine
// whose build token the config would carry (bind.Binder has it): nil means
// bound, an error is why not.
type Binder interface {
	Check(ctx context.Context, h *inventory.Host, remote netip.Addr) error
}

// LeaseHosts names the inventory host holding an address by an active DHCP
// lease (inventory.SQLite has it): GRUB builds that ask for plain grub.cfg
// say nothing else about who they are.
type LeaseHosts interface {
	HostIDByLease(ctx context.Context, ip string) (string, error)
}

// DiscoveryFunc returns the discovery boot of a MAC the inventory does not
// know (nil when the discovered table does not hold it or discovery is off);
// withToken asks for a fresh per-boot token (the requester is bound).
type DiscoveryFunc func(ctx context.Context, mac string, withToken bool) (*boot.Discovery, error)

// Options configure a Tree.
type Options struct {
	// Dir is the boot root directory; it must exist.
	Dir string
	// Lookup reads hosts and profiles for generated files.
	Lookup Lookup
	// Token, when set, supplies kickstart URL tokens (default: the host's BuildToken).
	Token TokenFunc
	// Bind, when set, is asked before a generated config carries a token:
	// a requester it refuses (or one whose Request.ClientIP is unknown) gets
	// the config without the token, and File.Withheld says why.
	Bind Binder
	// Leases, when set, names the requester of grub.cfg by its address;
	// without it grub.cfg is GRUB's dispatch on its own MAC.
	Leases LeaseHosts
	// Discovery, when set, gives discovered machines their discovery boot.
	Discovery DiscoveryFunc
}

// Tree serves the boot root. It is safe for concurrent use.
type Tree struct {
	dir    string
	root   *os.Root
	lookup Lookup
	token  TokenFunc
	bind   Binder
	leases LeaseHosts
	disc   DiscoveryFunc
}

// New opens the boot root.
func New(o Options) (*Tree, error) {
	if o.Lookup == nil {
		return nil, errors.New("bootfs: Options.Lookup is nil")
	}
	r, err := os.OpenRoot(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening boot root %s: %w (create it, or fill it with `netkick bootfiles`)", o.Dir, err)
	}
	return &Tree{dir: o.Dir, root: r, lookup: o.Lookup, token: o.Token, bind: o.Bind, leases: o.Leases, disc: o.Discovery}, nil
}

// Dir is the boot root's path.
func (t *Tree) Dir() string { return t.dir }

// Close releases the boot root.
func (t *Tree) Close() error { return t.root.Close() }

// Request says how the client reaches netkick, for generated files.
type Request struct {
	// BaseURL is the HTTP base URL the client reaches netkick on
	// ("http://192.0.2.1:8080"); it starts kickstart URLs.
	BaseURL string
	// FileBase prefixes kernel and initrd paths in generated configs ("" for
	// paths relative to the boot root; BaseURL+"/boot/" for HTTP loaders).
	FileBase string
	// Platform is iPXE's ${platform} when known.
	Platform string
	// ClientIP is the address the request came from (the socket's peer, never
	// a header), which names the requester of grub.cfg.
	ClientIP string
}

// File is an opened boot file: a regular file under the root or a generated config.
type File struct {
	io.ReadSeeker
	// Name is the cleaned name inside the root.
	Name string
	Size int64
	// ModTime is the file's modification time; zero for generated files.
	ModTime time.Time
	// Generated says which generated file this is (boot.NotGenerated for disk files).
	Generated boot.Generated
	// HostMAC is the canonical MAC the file was generated for, "" otherwise.
	HostMAC string
	// HostID is the inventory ID of the known host the file was generated
	// for ("" for disk files and unknown machines): the key of its timeline.
	HostID string
	// Hostname is that host's name ("" when HostID is).
	Hostname string
	// Withheld, when not nil, says why the build token was left out of this
	// generated config: the requester is not bound to the host.
	Withheld error
	closer   io.Closer
}

// Close releases the file.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// Open resolves a client-supplied name and opens it. When a generated config
// cannot be decided (a host in build mode without a usable profile), Open
// returns the error together with a File that carries only the host's
// identity, so the caller can put the failure on the host's timeline.
func (t *Tree) Open(ctx context.Context, name string, req Request) (*File, error) {
	clean, err := boot.CleanPath(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	switch kind, mac := boot.GeneratedName(clean); kind {
	case boot.PXELinuxHost:
		return t.generate(ctx, clean, kind, mac, req, boot.PXELinuxConfig)
	case boot.GRUBHost:
		return t.generate(ctx, clean, kind, mac, req, boot.GRUBConfig)
	case boot.GRUBAddress:
		return t.grubByAddress(ctx, clean, mac, req)
	case boot.PXELinuxFallback:
		// An operator's own pxelinux.cfg/default wins; otherwise local boot.
		if f, err := t.openDisk(clean); err == nil {
			return f, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return generated(clean, kind, "", boot.PXELinuxDefault()), nil
	case boot.LocalBootFile:
		return nil, fmt.Errorf("%w: %s is never served: DHCP names it to the UEFI firmware of hosts not in build mode so that the firmware boots its disk", ErrNotFound, clean)
	}
	return t.openDisk(clean)
}

// generate renders a per-MAC config with decide.
func (t *Tree) generate(ctx context.Context, clean string, kind boot.Generated, mac string, req Request, decide func(boot.ConfigInput) (string, error)) (*File, error) {
	in, withheld, err := t.input(ctx, mac, req)
	if err != nil {
		return nil, err
	}
	f := generated(clean, kind, mac, "")
	f.Withheld = withheld
	if in.Host != nil {
		f.HostID, f.Hostname = in.Host.ID(), in.Host.Hostname
	}
	text, err := decide(in)
	if err != nil {
		return f, err
	}
	f.ReadSeeker, f.Size = bytes.NewReader([]byte(text)), int64(len(text))
	return f, nil
}

// grubByAddress answers grub.cfg and grub.cfg-<hex address>: the config of
// the host that holds the requester's address by a lease. With no such host,
// grub.cfg is the operator's file when the boot root has one, else the
// dispatch on GRUB's own MAC; a hex name is not found (GRUB tries the next).
func (t *Tree) grubByAddress(ctx context.Context, clean, named string, req Request) (*File, error) {
	if addr, ok := boot.GRUBRequester(named, req.ClientIP); ok && t.leases != nil {
		id, err := t.leases.HostIDByLease(ctx, addr)
		switch {
		case err == nil:
			return t.generate(ctx, clean, boot.GRUBAddress, id, req, boot.GRUBConfig)
		case !errors.Is(err, inventory.ErrNotFound):
			return nil, fmt.Errorf("looking up the host leasing %s for %s: %w", addr, clean, err)
		}
	}
	if named != "" {
		return nil, fmt.Errorf("%w: %s: no host of this requester holds address %s by a lease", ErrNotFound, clean, named)
	}
	if f, err := t.openDisk(clean); err == nil {
		return f, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return generated(clean, boot.GRUBAddress, "", boot.GRUBDispatch()), nil
}

func generated(name string, kind boot.Generated, mac, text string) *File {
	return &File{ReadSeeker: bytes.NewReader([]byte(text)), Name: name, Size: int64(len(text)), Generated: kind, HostMAC: mac}
}

func (t *Tree) openDisk(clean string) (*File, error) {
	f, err := t.root.Open(clean)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s is not in the boot root %s", ErrNotFound, clean, t.dir)
		}
		// os.Root reports links and names that leave the root as errors of their own.
		return nil, fmt.Errorf("%w: %s: %w", ErrRefused, clean, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: stat %s: %w", ErrRefused, clean, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is a directory", ErrNotFound, clean)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is not a regular file (%s)", ErrRefused, clean, st.Mode().Type())
	}
	return &File{ReadSeeker: f, Name: clean, Size: st.Size(), ModTime: st.ModTime(), closer: f}, nil
}

// input gathers what boot needs to decide a config for mac.
func input(ctx context.Context, l Lookup, token TokenFunc, mac string, req Request) (boot.ConfigInput, error) {
	in := boot.ConfigInput{MAC: mac, BaseURL: req.BaseURL, FileBase: req.FileBase, Platform: req.Platform}
	h, err := l.GetHost(ctx, mac)
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		return in, nil
	case err != nil:
		return in, fmt.Errorf("looking up host %s for its boot config: %w", mac, err)
	}
	in.Host = h
	if !boot.Installs(h) {
		return in, nil
	}
	if h.Profile != "" {
		p, err := l.GetProfile(ctx, h.Profile)
		switch {
		case errors.Is(err, inventory.ErrNotFound):
		case err != nil:
			return in, fmt.Errorf("looking up profile %s of host %s: %w", h.Profile, mac, err)
		default:
			in.Profile = p
		}
	}
	in.Token = h.BuildToken
	if token != nil {
		tok, err := token(ctx, h)
		if err != nil {
			return in, fmt.Errorf("build token for host %s: %w", mac, err)
		}
		in.Token = tok
	}
	return in, nil
}

// input gathers what boot needs and, when the config would carry a token,
// asks the binder; a refused requester gets the config without the token and
// the reason back as withheld.
func (t *Tree) input(ctx context.Context, mac string, req Request) (in boot.ConfigInput, withheld error, err error) {
	in, err = input(ctx, t.lookup, t.token, mac, req)
	if err == nil && in.Host == nil && t.disc != nil {
		return t.discoveryInput(ctx, in, req)
	}
	if err != nil || in.Token == "" || t.bind == nil {
		return in, nil, err
	}
	if remote, perr := netip.ParseAddr(req.ClientIP); perr != nil {
		withheld = fmt.Errorf("the requester's address of the %s config is unknown (%q)", in.Host.Hostname, req.ClientIP)
	} else {
		withheld = t.bind.Check(ctx, in.Host, remote.Unmap())
	}
	if withheld != nil {
		in.Token = ""
	}
	return in, withheld, nil
}

// discoveryInput adds the discovery boot of an unknown MAC: with a fresh
// per-boot token when the requester is bound to the MAC (its lease and, on
// an attached segment, its neighbour entry), without one otherwise.
func (t *Tree) discoveryInput(ctx context.Context, in boot.ConfigInput, req Request) (boot.ConfigInput, error, error) {
	var withheld error
	if t.bind != nil {
		machine := &inventory.Host{MACs: []string{in.MAC}, Hostname: "discovered machine " + in.MAC}
		if remote, perr := netip.ParseAddr(req.ClientIP); perr != nil {
			withheld = fmt.Errorf("the requester's address of the discovery config of %s is unknown (%q)", in.MAC, req.ClientIP)
		} else {
			withheld = t.bind.Check(ctx, machine, remote.Unmap())
		}
	}
	d, err := t.disc(ctx, in.MAC, withheld == nil)
	if err != nil {
		return in, nil, fmt.Errorf("discovery boot of %s: %w", in.MAC, err)
	}
	if d == nil {
		return in, nil, nil
	}
	in.Discovery = d
	return in, withheld, nil
}

// IPXE generates the iPXE script for a MAC in any spelling.
func (t *Tree) IPXE(ctx context.Context, mac string, req Request) (string, error) {
	s, _, err := t.IPXEBound(ctx, mac, req)
	return s, err
}

// IPXEBound is IPXE that also says why the token was withheld (nil: it was
// not, or there was none to give).
func (t *Tree) IPXEBound(ctx context.Context, mac string, req Request) (script string, withheld, err error) {
	m, err := inventory.NormalizeMAC(mac)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	in, withheld, err := t.input(ctx, m, req)
	if err != nil {
		return "", nil, err
	}
	s, err := boot.IPXEScript(in)
	return s, withheld, err
}

// Render decides the generated pxelinux config ("pxelinux"), iPXE script
// ("ipxe") or GRUB config ("grub") for key: a MAC in any spelling, or a known host's name. It needs
// no boot root, so `netkick render` can show exactly what a host gets.
func Render(ctx context.Context, l Lookup, token TokenFunc, kind, key string, req Request) (string, error) {
	mac, err := inventory.NormalizeMAC(key)
	if err != nil {
		h, herr := l.GetHost(ctx, key)
		if herr != nil {
			if errors.Is(herr, inventory.ErrNotFound) {
				return "", fmt.Errorf("%w: host %q: neither a MAC nor a known hostname", inventory.ErrNotFound, key)
			}
			return "", herr
		}
		mac = h.ID()
	}
	in, err := input(ctx, l, token, mac, req)
	if err != nil {
		return "", err
	}
	switch kind {
	case "pxelinux":
		return boot.PXELinuxConfig(in)
	case "ipxe":
		return boot.IPXEScript(in)
	case "grub":
		return boot.GRUBConfig(in)
	default:
		return "", fmt.Errorf("cannot render %q: want pxelinux, ipxe or grub", kind)
	}
}
