// Package inventory holds netkick's model (hosts, profiles, layouts, clusters,
// events), the Store interface that persists it, its SQLite implementation and
// the validation of every identifier that may later reach a shell or a file.
package inventory

import (
	"errors"
	"time"
)

// State is where a host is in its install lifecycle.
type State string

// Host states. A host boots the installer only in StateBuild/StateInstalling.
const (
	StateDiscovered State = "discovered"
	StateReady      State = "ready"
	StateBuild      State = "build"
	StateInstalling State = "installing"
	StateInstalled  State = "installed"
	StateFailed     State = "failed"
)

// States lists every valid state, in lifecycle order.
func States() []State {
	return []State{StateDiscovered, StateReady, StateBuild, StateInstalling, StateInstalled, StateFailed}
}

// Host is one machine: its MACs (the first is its identity), name, roles and
// everything its kickstart is rendered from.
type Host struct {
	MACs     []string          `json:"macs" yaml:"macs"`
	Hostname string            `json:"hostname" yaml:"hostname"`
	IP       string            `json:"ip,omitempty" yaml:"ip,omitempty"`
	Profile  string            `json:"profile,omitempty" yaml:"profile,omitempty"`
	Roles    []string          `json:"roles,omitempty" yaml:"roles,omitempty"`
	Labels   map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Params   map[string]string `json:"params,omitempty" yaml:"params,omitempty"`
	Timezone string            `json:"timezone,omitempty" yaml:"timezone,omitempty"`
	Layout   string            `json:"layout,omitempty" yaml:"layout,omitempty"`
	// Cluster names the LVS cluster the host belongs to (director or real server).
	Cluster string `json:"cluster,omitempty" yaml:"cluster,omitempty"`
	// RootPasswordHash is a crypt(3) hash; clear text is never stored.
	RootPasswordHash string `json:"root_password_hash,omitempty" yaml:"root_password_hash,omitempty"`
	State            State  `json:"state,omitempty" yaml:"state,omitempty"`
	// Arch is the firmware architecture last seen by DHCP (option 93), e.g. "bios", "efi-x86_64".
	Arch string `json:"arch,omitempty" yaml:"arch,omitempty"`
	// BuildToken is the one-time token of the current build: it is stored, never
	// shown by the API or exported, and burnt when the install reports back.
	BuildToken   string    `json:"-" yaml:"-"`
	TokenExpires time.Time `json:"token_expires,omitzero" yaml:"-"`
	// Facts are the hardware its discovery environment reported (kept when
	// a discovered machine is adopted); nil when never discovered.
	Facts     *Facts    `json:"facts,omitempty" yaml:"facts,omitempty"`
	FirstSeen time.Time `json:"first_seen,omitzero" yaml:"-"`
	LastSeen  time.Time `json:"last_seen,omitzero" yaml:"-"`
}

// ID is the host's identity: its first MAC.
func (h *Host) ID() string {
	if len(h.MACs) == 0 {
		return ""
	}
	return h.MACs[0]
}

// HasRole reports whether the host holds role r.
func (h *Host) HasRole(r string) bool {
	for _, x := range h.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Profile is an operating system install: what to boot and which template renders it.
type Profile struct {
	Name       string `json:"name" yaml:"name"`
	OS         string `json:"os" yaml:"os"`           // e.g. "centos", "rhel"
	Version    string `json:"version" yaml:"version"` // e.g. "5.3", "6.10", "7.9"
	Kernel     string `json:"kernel,omitempty" yaml:"kernel,omitempty"`
	Initrd     string `json:"initrd,omitempty" yaml:"initrd,omitempty"`
	InstallURL string `json:"install_url,omitempty" yaml:"install_url,omitempty"`
	// Template names the kickstart template; empty means the built-in default.
	Template string `json:"template,omitempty" yaml:"template,omitempty"`
	// KernelArgs are extra kernel command-line arguments for the installer.
	KernelArgs string `json:"kernel_args,omitempty" yaml:"kernel_args,omitempty"`
	// Layout is the default disk layout for hosts of this profile.
	Layout string `json:"layout,omitempty" yaml:"layout,omitempty"`
	// Timezone is the default zone for hosts of this profile.
	Timezone string `json:"timezone,omitempty" yaml:"timezone,omitempty"`
	// BootLoader selects the first stage: empty (pxelinux.0 for BIOS PXE
	// ROMs, the HTTP script for iPXE ROMs, ipxe.efi for UEFI), "pxelinux"
	// (pxelinux.0 for every BIOS ROM, iPXE ones too), "ipxe" or "undionly"
	// (undionly.kpxe for BIOS), "snponly" (snponly.efi for UEFI), "grub"
	// (UEFI x86-64 PXE: shim, then signed GRUB, for Secure Boot).
	BootLoader string `json:"bootloader,omitempty" yaml:"bootloader,omitempty"`
	// Shim is the profile's own signed shim under the boot root (grubx64.efi
	// beside it), named in DHCP for bootloader "grub" so the profile's kernel
	// boots through its own distribution's shim and GRUB; `netkick profile
	// fetch` sets it. Empty: shimx64.efi at the top of the boot root
	// (`netkick bootfiles`, from this machine's packages).
	Shim string `json:"shim,omitempty" yaml:"shim,omitempty"`
}

// Event is one thing that happened to a host, for its timeline.
type Event struct {
	ID     int64     `json:"id" yaml:"id"`
	HostID string    `json:"host" yaml:"host"`
	Time   time.Time `json:"time" yaml:"time"`
	Kind   string    `json:"kind" yaml:"kind"` // dhcp-offer, dhcp-ack, tftp, kickstart, built, failed, state…
	Detail string    `json:"detail,omitempty" yaml:"detail,omitempty"`
}

// Errors callers branch on (wrapped with context by the store).
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid")
)
