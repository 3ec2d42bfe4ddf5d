package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultDiscoveredCap is how many discovered machines the store keeps when
// the config names no cap: beyond it the machine seen longest ago goes.
const DefaultDiscoveredCap = 1000

// MaxDiscoveredAddresses is how many addresses a discovered machine keeps
// (the most recent ones).
const MaxDiscoveredAddresses = 8

// Discovered is a machine the inventory does not know that network-booted
// while DHCP ran with `unknown: discover`: what its DHCP packets said and,
// once its discovery environment reported, its hardware facts. Every text
// field came from the network: it is stored cleaned (CleanText) and is data,
// never a name netkick trusts.
type Discovered struct {
	// MAC is the address the machine booted from (its key).
	MAC string `json:"mac" yaml:"mac"`
	// MACs are every NIC address known: MAC first, then those its facts list.
	MACs []string `json:"macs,omitempty" yaml:"macs,omitempty"`
	// Arch is the firmware (boot.FirmwareBIOS, …) option 93 named.
	Arch string `json:"arch,omitempty" yaml:"arch,omitempty"`
	// VendorClass is option 60.
	VendorClass string `json:"vendor_class,omitempty" yaml:"vendor_class,omitempty"`
	// Hostname is the name the machine sent in option 12.
	Hostname string `json:"dhcp_hostname,omitempty" yaml:"dhcp_hostname,omitempty"`
	// CircuitID and RemoteID are the relay agent's option 82 sub-options 1
	// and 2 (the switch port the machine is on).
	CircuitID string `json:"circuit_id,omitempty" yaml:"circuit_id,omitempty"`
	RemoteID  string `json:"remote_id,omitempty" yaml:"remote_id,omitempty"`
	// Addresses are the addresses DHCP gave it, the latest last.
	Addresses []string  `json:"addresses,omitempty" yaml:"addresses,omitempty"`
	FirstSeen time.Time `json:"first_seen" yaml:"first_seen"`
	LastSeen  time.Time `json:"last_seen" yaml:"last_seen"`
	// Facts are what its discovery environment reported; nil until then.
	Facts *Facts `json:"facts,omitempty" yaml:"facts,omitempty"`
	// Token is the per-boot token its discovery boot config carries
	// (never shown); TokenExpires ends it.
	Token        string    `json:"-" yaml:"-"`
	TokenExpires time.Time `json:"-" yaml:"-"`
}

// Facts are a machine's hardware as its discovery environment read it.
type Facts struct {
	CPU CPUFacts `json:"cpu" yaml:"cpu"`
	// MemoryBytes is the RAM the kernel sees (MemTotal).
	MemoryBytes int64      `json:"memory_bytes" yaml:"memory_bytes"`
	Disks       []DiskFact `json:"disks,omitempty" yaml:"disks,omitempty"`
	NICs        []NICFact  `json:"nics,omitempty" yaml:"nics,omitempty"`
	DMI         DMIFacts   `json:"dmi" yaml:"dmi"`
	// Reported is when netkick received them.
	Reported time.Time `json:"reported,omitzero" yaml:"reported,omitempty"`
}

// Clone is a deep copy of f (nil for nil).
func (f *Facts) Clone() *Facts {
	if f == nil {
		return nil
	}
	c := *f
	c.Disks = slices.Clone(f.Disks)
	c.NICs = slices.Clone(f.NICs)
	return &c
}

// CPUFacts are the processor: its model name and how many logical CPUs.
type CPUFacts struct {
	Model string `json:"model,omitempty" yaml:"model,omitempty"`
	Count int    `json:"count" yaml:"count"`
}

// DiskFact is one block device.
type DiskFact struct {
	Name       string `json:"name" yaml:"name"` // kernel name: sda, vda, nvme0n1
	SizeBytes  int64  `json:"size_bytes" yaml:"size_bytes"`
	Model      string `json:"model,omitempty" yaml:"model,omitempty"`
	Serial     string `json:"serial,omitempty" yaml:"serial,omitempty"`
	Rotational bool   `json:"rotational" yaml:"rotational"`
}

// NICFact is one network interface.
type NICFact struct {
	Name string `json:"name" yaml:"name"`
	MAC  string `json:"mac" yaml:"mac"`
	// Link is true when the carrier is up; SpeedMbps is 0 when unknown.
	Link      bool `json:"link" yaml:"link"`
	SpeedMbps int  `json:"speed_mbps,omitempty" yaml:"speed_mbps,omitempty"`
}

// DMIFacts are the SMBIOS system information (type 1).
type DMIFacts struct {
	Vendor  string `json:"vendor,omitempty" yaml:"vendor,omitempty"`
	Product string `json:"product,omitempty" yaml:"product,omitempty"`
	Serial  string `json:"serial,omitempty" yaml:"serial,omitempty"`
}

// HumanBytes shows a size in binary units (8 GiB, 500 MiB).
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string("KMGTPE"[i]) + "iB"
}

// Limits of a facts report: more is refused as malformed.
const (
	MaxFactDisks = 64
	MaxFactNICs  = 64
	MaxFactText  = 256
	// MaxDHCPText bounds texts from DHCP options (a DHCP option holds at most 255 bytes).
	MaxDHCPText = 255
)

// CleanText makes untrusted bytes from a machine safe to store and print as
// one line of data: valid UTF-8 printable characters are kept, every other
// byte (invalid UTF-8, control characters, newlines) becomes a \xNN escape;
// the result is cut to at most max bytes. Cleaning is idempotent, so
// cleaned text can be checked again on every write. The text stays data: whoever renders it still
// quotes it for its context.
func CleanText(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && n <= 1:
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case !unicode.IsPrint(r) && r != ' ':
			if r < 0x80 {
				piece = fmt.Sprintf(`\x%02x`, r)
			} else {
				piece = fmt.Sprintf(`\u%04x`, r)
			}
		default:
			piece = s[i : i+n]
		}
		if b.Len()+len(piece) > max {
			break
		}
		b.WriteString(piece)
		i += n
	}
	return strings.TrimSpace(b.String())
}

// NormalizeFacts checks a facts report's shape (counts, sizes, MACs) and
// cleans each of its texts (CleanText). It changes f in place.
func NormalizeFacts(f *Facts) error {
	if f.MemoryBytes < 0 || f.CPU.Count < 0 || f.CPU.Count > 1<<16 {
		return fmt.Errorf("%w: facts: memory_bytes %d and cpu.count %d must be non-negative (and a CPU count below 65536)", ErrInvalid, f.MemoryBytes, f.CPU.Count)
	}
	if len(f.Disks) > MaxFactDisks || len(f.NICs) > MaxFactNICs {
		return fmt.Errorf("%w: facts list %d disks and %d NICs; at most %d and %d are accepted", ErrInvalid, len(f.Disks), len(f.NICs), MaxFactDisks, MaxFactNICs)
	}
	t := func(s string) string { return CleanText(s, MaxFactText) }
	f.CPU.Model = t(f.CPU.Model)
	f.DMI = DMIFacts{Vendor: t(f.DMI.Vendor), Product: t(f.DMI.Product), Serial: t(f.DMI.Serial)}
	for i := range f.Disks {
		d := &f.Disks[i]
		if d.SizeBytes < 0 {
			return fmt.Errorf("%w: facts: disk %d size_bytes %d is negative", ErrInvalid, i, d.SizeBytes)
		}
		if err := ValidateDiskName(d.Name); err != nil {
			return fmt.Errorf("facts: disk %d: %w", i, err)
		}
		d.Model, d.Serial = t(d.Model), t(d.Serial)
	}
	for i := range f.NICs {
		n := &f.NICs[i]
		m, err := NormalizeMAC(n.MAC)
		if err != nil {
			return fmt.Errorf("facts: NIC %d: %w", i, err)
		}
		n.MAC, n.Name = m, t(n.Name)
		if n.SpeedMbps < 0 {
			n.SpeedMbps = 0 // the kernel reports -1 for "unknown"
		}
	}
	return nil
}

// ValidateDiskName checks a kernel block device name (sda, vdb, nvme0n1,
// cciss!c0d0 is not one netkick can partition): letters and digits, at most 32.
func ValidateDiskName(s string) error {
	if s == "" || len(s) > 32 {
		return fmt.Errorf("%w: disk name %q: want a kernel block device name such as sda or nvme0n1", ErrInvalid, trunc(CleanText(s, 64)))
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return fmt.Errorf("%w: disk name %q: want a kernel block device name such as sda or nvme0n1 (lower-case letters and digits)", ErrInvalid, trunc(CleanText(s, 64)))
		}
	}
	return nil
}

// NormalizeSighting checks and cleans what DHCP saw of a discovered machine.
func NormalizeSighting(d *Discovered) error {
	m, err := NormalizeMAC(d.MAC)
	if err != nil {
		return err
	}
	d.MAC = m
	d.Arch = CleanText(d.Arch, 32)
	d.VendorClass = CleanText(d.VendorClass, MaxDHCPText)
	d.Hostname = CleanText(d.Hostname, MaxDHCPText)
	d.CircuitID = CleanText(d.CircuitID, MaxDHCPText)
	d.RemoteID = CleanText(d.RemoteID, MaxDHCPText)
	for i, a := range d.Addresses {
		if err := ValidateIPv4("address", a); err != nil {
			return err
		}
		d.Addresses[i] = a
	}
	return nil
}

// MergeSighting folds a new DHCP sighting into what the store held (nil for
// a new machine): first seen and facts are kept, the packet's fields replace
// the old ones when present, addresses accumulate (the latest last, at most
// MaxDiscoveredAddresses).
func MergeSighting(old *Discovered, seen Discovered) Discovered {
	if old == nil {
		if seen.FirstSeen.IsZero() {
			seen.FirstSeen = seen.LastSeen
		}
		if len(seen.MACs) == 0 {
			seen.MACs = []string{seen.MAC}
		}
		return seen
	}
	out := *old
	out.LastSeen = seen.LastSeen
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&out.Arch, seen.Arch}, {&out.VendorClass, seen.VendorClass}, {&out.Hostname, seen.Hostname},
		{&out.CircuitID, seen.CircuitID}, {&out.RemoteID, seen.RemoteID},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	out.Addresses = slices.Clone(old.Addresses)
	for _, a := range seen.Addresses {
		out.Addresses = slices.DeleteFunc(out.Addresses, func(x string) bool { return x == a })
		out.Addresses = append(out.Addresses, a)
	}
	if n := len(out.Addresses); n > MaxDiscoveredAddresses {
		out.Addresses = out.Addresses[n-MaxDiscoveredAddresses:]
	}
	return out
}

// Discoveries keeps the discovered machines (both stores have it). Keys are
// a MAC in any spelling.
type Discoveries interface {
	// RecordDiscovered merges a DHCP sighting (MergeSighting) and keeps at
	// most max machines (0: DefaultDiscoveredCap), evicting those seen
	// longest ago; it returns how many it evicted.
	RecordDiscovered(ctx context.Context, seen Discovered, max int) (evicted int, err error)
	GetDiscovered(ctx context.Context, mac string) (*Discovered, error)
	// ListDiscovered returns them, the most recently seen first.
	ListDiscovered(ctx context.Context) ([]Discovered, error)
	// UpdateDiscovered runs fn on the stored machine in one transaction.
	UpdateDiscovered(ctx context.Context, mac string, fn func(*Discovered) error) (*Discovered, error)
	DeleteDiscovered(ctx context.Context, mac string) error
}

var (
	_ Discoveries = (*SQLite)(nil)
	_ Discoveries = (*Postgres)(nil)
)

// discoveredRecord is the stored form: the token is kept, unlike in JSON output.
type discoveredRecord struct {
	Discovered
	StoredToken   string    `json:"token,omitempty"`
	StoredExpires time.Time `json:"token_expires,omitzero"`
}

func encodeDiscovered(d *Discovered) (string, error) {
	b, err := json.Marshal(discoveredRecord{Discovered: *d, StoredToken: d.Token, StoredExpires: d.TokenExpires})
	return string(b), err
}

func decodeDiscovered(doc string) (*Discovered, error) {
	var r discoveredRecord
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return nil, fmt.Errorf("decode stored discovered machine: %w", err)
	}
	d := r.Discovered
	d.Token, d.TokenExpires = r.StoredToken, r.StoredExpires
	return &d, nil
}

func discoveredCap(max int) int {
	if max <= 0 {
		return DefaultDiscoveredCap
	}
	return max
}

func discoveredNotFound(mac string) error {
	return fmt.Errorf("discovered machine %s: %w (list them with `netkick discovered list`)", trunc(mac), ErrNotFound)
}
