package boot

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision/urls"
)

// What a discovery environment does once it has reported its facts.
const (
	// AfterWait keeps the machine up, idle, until someone acts on it: an
	// unknown machine that netboots first is never switched off by surprise.
	AfterWait = "wait"
	// AfterPoweroff powers it off (where the site configured it).
	AfterPoweroff = "poweroff"
)

// Discovery is what a discovered machine boots: the site's kernel with
// netkick's BusyBox discovery initramfs, which reports the machine's facts
// to FactsURL and then does After.
type Discovery struct {
	// Kernel and Initrd are paths under the boot root (or http URLs).
	Kernel, Initrd string
	// KernelArgs are extra kernel arguments (console=…).
	KernelArgs string
	// After is AfterWait (default) or AfterPoweroff.
	After string
	// Token is the machine's per-boot token; empty: the config carries none
	// (the requester is not bound to the machine) and the report is refused.
	Token string
}

// discoveryEntry decides the kernel, initrd and command line of a
// discovered machine's boot config.
func discoveryEntry(in ConfigInput) (install, error) {
	d := in.Discovery
	if d.Kernel == "" || d.Initrd == "" {
		return install{}, fmt.Errorf("%w: discovery has no kernel or initrd: set discovery.kernel and discovery.initrd to files under the boot root", ErrNoInstall)
	}
	if in.BaseURL == "" {
		return install{}, fmt.Errorf("%w: no HTTP server address known for the facts URL of %s", ErrNoInstall, in.MAC)
	}
	kernel, err := bootFile(in.FileBase, d.Kernel, "discovery kernel")
	if err != nil {
		return install{}, err
	}
	initrd, err := bootFile(in.FileBase, d.Initrd, "discovery initrd")
	if err != nil {
		return install{}, err
	}
	if err := checkArgs("discovery kernel_args", d.KernelArgs); err != nil {
		return install{}, err
	}
	after := d.After
	if after != AfterPoweroff {
		after = AfterWait
	}
	args := []string{"netkick.facts=" + urls.Base(in.BaseURL).Facts(in.MAC, d.Token), "netkick.after=" + after}
	if v := strings.TrimSpace(d.KernelArgs); v != "" {
		args = append(args, v)
	}
	name := d.Initrd[strings.LastIndex(d.Initrd, "/")+1:]
	return install{kernel: kernel, initrd: initrd, initrdName: name, cmdline: strings.Join(args, " ")}, nil
}

// FactsAccess decides whether a facts report from a discovered machine is
// accepted: it must present the per-boot token of its discovery boot config
// before the token expires.
func FactsAccess(d *inventory.Discovered, token string, now time.Time) error {
	switch {
	case d.Token == "":
		return refuse("facts of discovered machine %s refused: it holds no discovery token (was its discovery boot config served?)", d.MAC)
	case token == "":
		return refuse("facts of discovered machine %s refused: no token presented", d.MAC)
	case subtle.ConstantTimeCompare([]byte(token), []byte(d.Token)) != 1:
		return refuse("facts of discovered machine %s refused: wrong token", d.MAC)
	case !d.TokenExpires.IsZero() && now.After(d.TokenExpires):
		return refuse("facts of discovered machine %s refused: its token expired at %s", d.MAC, d.TokenExpires.Format(time.RFC3339))
	}
	return nil
}
