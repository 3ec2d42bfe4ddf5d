package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/power"
)

// BMCStore keeps each host's BMC settings apart from the host (the SQLite
// store does).
type BMCStore interface {
	GetBMC(ctx context.Context, hostID string) (*inventory.BMC, error)
	PutBMC(ctx context.Context, b inventory.BMC) error
	ListBMCs(ctx context.Context) ([]inventory.BMC, error)
	RecordPowerState(ctx context.Context, hostID, state string, at time.Time) error
}

// PowerOpener returns the driver for one BMC (power.Open with the service's
// limits by default).
type PowerOpener func(b power.BMC) (power.Driver, error)

// BMCChange is a partial edit of a host's BMC settings: nil fields stay.
// Setting Password clears PasswordFile and the other way round.
type BMCChange struct {
	Driver       *string `json:"driver,omitempty"`
	Address      *string `json:"address,omitempty"`
	Port         *int    `json:"port,omitempty"`
	User         *string `json:"user,omitempty"`
	Password     *string `json:"password,omitempty"`
	PasswordFile *string `json:"password_file,omitempty"`
}

// Empty reports whether the change names nothing.
func (c BMCChange) Empty() bool {
	return c.Driver == nil && c.Address == nil && c.Port == nil && c.User == nil && c.Password == nil && c.PasswordFile == nil
}

// BMCView is a host's BMC settings as they are shown: never the password,
// only whether one is set and where it is read from.
type BMCView struct {
	Host         string    `json:"host"`
	Hostname     string    `json:"hostname"`
	Driver       string    `json:"driver"`
	Address      string    `json:"address"`
	Port         int       `json:"port,omitempty"`
	User         string    `json:"user"`
	PasswordSet  bool      `json:"password_set"`
	PasswordFile string    `json:"password_file,omitempty"`
	PowerState   string    `json:"power_state,omitempty"`
	PowerChecked time.Time `json:"power_checked,omitzero"`
}

func viewBMC(h *inventory.Host, b *inventory.BMC) *BMCView {
	return &BMCView{Host: h.ID(), Hostname: h.Hostname, Driver: b.Driver, Address: b.Address, Port: b.Port, User: b.User,
		PasswordSet: b.Password != "" || b.PasswordFile != "", PasswordFile: b.PasswordFile,
		PowerState: b.PowerState, PowerChecked: b.PowerChecked}
}

func (s *Service) bmcs() (BMCStore, error) {
	bs, ok := s.o.Store.(BMCStore)
	if !ok {
		return nil, fail(inventory.ErrInvalid, "use the SQLite store", "this inventory store keeps no BMC settings")
	}
	return bs, nil
}

// SetBMC changes a host's BMC settings. The timeline says what changed, and
// of the password only that it was set.
func (s *Service) SetBMC(ctx context.Context, a Actor, key string, c BMCChange) (v *BMCView, err error) {
	defer func() {
		var t auditTarget
		if v != nil {
			t = onHostNamed(v.Hostname, v.Host, key)
		} else {
			t = onHost(nil, key)
		}
		s.audit(a, "bmc set", t, err)
	}()
	bs, err := s.bmcs()
	if err != nil {
		return nil, err
	}
	h, err := s.o.Store.GetHost(ctx, key)
	if err != nil {
		return nil, err
	}
	b, err := bs.GetBMC(ctx, h.ID())
	if errors.Is(err, inventory.ErrNotFound) {
		b, err = &inventory.BMC{HostID: h.ID(), Driver: "ipmi"}, nil
	}
	if err != nil {
		return nil, err
	}
	var what []string
	if c.Driver != nil {
		d := strings.TrimSpace(*c.Driver)
		if d == "" {
			d = "ipmi"
		}
		if !contains(power.Drivers(), d) {
			return nil, fail(inventory.ErrInvalid, "the drivers are "+strings.Join(power.Drivers(), ", "), "host %s: BMC driver %q is not known", h.Hostname, d)
		}
		b.Driver = d
		what = append(what, "driver "+d)
	}
	if c.Address != nil {
		ad := strings.TrimSpace(*c.Address)
		if ad == "" || strings.ContainsAny(ad, " /\t\n") {
			return nil, fail(inventory.ErrInvalid, "give the BMC's IP address or host name", "host %s: BMC address %q is not an address", h.Hostname, *c.Address)
		}
		b.Address = ad
		what = append(what, "address "+ad)
	}
	if c.Port != nil {
		if *c.Port < 0 || *c.Port > 65535 {
			return nil, fail(inventory.ErrInvalid, "give a UDP port, 623 by default", "host %s: BMC port %d is out of range", h.Hostname, *c.Port)
		}
		b.Port = *c.Port
		what = append(what, fmt.Sprintf("port %d", *c.Port))
	}
	if c.User != nil {
		if len(*c.User) > 16 {
			return nil, fail(inventory.ErrInvalid, "IPMI user names are at most 16 bytes", "host %s: BMC user %q is too long", h.Hostname, *c.User)
		}
		b.User = *c.User
		what = append(what, fmt.Sprintf("user %q", *c.User))
	}
	if c.Password != nil && c.PasswordFile != nil {
		return nil, fail(inventory.ErrInvalid, "give one of them", "host %s: a BMC password and a password file both given", h.Hostname)
	}
	if c.Password != nil {
		if len(*c.Password) > 20 {
			return nil, fail(inventory.ErrInvalid, "IPMI 2.0 passwords are at most 20 bytes", "host %s: the BMC password is longer than 20 bytes", h.Hostname)
		}
		b.Password, b.PasswordFile = *c.Password, ""
		what = append(what, map[bool]string{true: "password cleared", false: "password set"}[*c.Password == ""])
	}
	if c.PasswordFile != nil {
		f := *c.PasswordFile
		if f != "" {
			if !filepath.IsAbs(f) {
				return nil, fail(inventory.ErrInvalid, "give an absolute path, read by the netkick that drives the BMC", "host %s: BMC password file %q is not an absolute path", h.Hostname, f)
			}
			if _, err := readPasswordFile(f); err != nil {
				return nil, fail(inventory.ErrInvalid, "create it (one line, mode 0600) readable by netkick", "host %s: %v", h.Hostname, err)
			}
		}
		b.PasswordFile, b.Password = f, ""
		what = append(what, "password file "+orDash(f))
	}
	if len(what) == 0 {
		return viewBMC(h, b), nil
	}
	if err := bs.PutBMC(ctx, *b); err != nil {
		return nil, err
	}
	s.event(ctx, h.ID(), "bmc", "BMC "+strings.Join(what, ", ")+" (by "+a.String()+")")
	return viewBMC(h, b), nil
}

// ExportBMCs returns every host's BMC settings with the passwords, for an
// export asked for with secrets.
func (s *Service) ExportBMCs(ctx context.Context) ([]inventory.BMC, error) {
	bs, err := s.bmcs()
	if err != nil {
		return nil, err
	}
	return bs.ListBMCs(ctx)
}

// GetBMC returns a host's BMC settings without the password.
func (s *Service) GetBMC(ctx context.Context, key string) (*BMCView, error) {
	h, b, err := s.hostBMC(ctx, key)
	if err != nil {
		return nil, err
	}
	return viewBMC(h, b), nil
}

func (s *Service) hostBMC(ctx context.Context, key string) (*inventory.Host, *inventory.BMC, error) {
	bs, err := s.bmcs()
	if err != nil {
		return nil, nil, err
	}
	h, err := s.o.Store.GetHost(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	b, err := bs.GetBMC(ctx, h.ID())
	if errors.Is(err, inventory.ErrNotFound) {
		return nil, nil, &Error{Kind: inventory.ErrInvalid, Msg: fmt.Sprintf("host %s has no BMC settings", h.Hostname),
			Hint: "set them: netkick host set " + h.Hostname + " --bmc-address ADDR --bmc-user USER --bmc-password-file FILE"}
	}
	return h, b, err
}

// readPasswordFile reads a BMC password: the file's first line.
func readPasswordFile(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("BMC password file: %w", err)
	}
	pw, _, _ := strings.Cut(string(raw), "\n")
	pw = strings.TrimRight(pw, "\r")
	if pw == "" {
		return "", fmt.Errorf("BMC password file %s is empty", path)
	}
	return pw, nil
}

func (s *Service) driver(h *inventory.Host, b *inventory.BMC) (power.Driver, error) {
	pw := b.Password
	if b.PasswordFile != "" {
		var err error
		if pw, err = readPasswordFile(b.PasswordFile); err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Hostname, err)
		}
	}
	open := s.o.Power
	if open == nil {
		open = func(pb power.BMC) (power.Driver, error) { return power.Open(pb, power.DefaultLimits) }
	}
	return open(power.BMC{Driver: b.Driver, Address: b.Address, Port: b.Port, User: b.User, Password: pw})
}

// PowerResult is the outcome of a power request for one host.
type PowerResult struct {
	Host     string `json:"host"`
	Hostname string `json:"hostname"`
	Action   string `json:"action"`
	// State is the power state read (status) or the one after the action
	// as far as it is known.
	State string `json:"state,omitempty"`
	// Steps are what was done, in order, as on the timeline.
	Steps []string `json:"steps,omitempty"`
	Error string   `json:"error,omitempty"`
}

// Power runs one power action on a host's BMC ("status" reads and records
// the state). Actions are recorded on the host's timeline, whether they
// succeed or fail.
func (s *Service) Power(ctx context.Context, a Actor, key, action string) (r *PowerResult, err error) {
	defer func() {
		if action != "status" {
			s.audit(a, "power "+inventory.CleanText(action, 16), powerTarget(r, key), err)
		}
	}()
	h, b, err := s.hostBMC(ctx, key)
	if err != nil {
		return nil, err
	}
	res := &PowerResult{Host: h.ID(), Hostname: h.Hostname, Action: action}
	d, err := s.driver(h, b)
	if err != nil {
		return nil, err
	}
	if action == "status" {
		st, err := d.Status(ctx)
		if err != nil {
			return res, err
		}
		res.State = string(st)
		s.recordState(ctx, h, st)
		return res, nil
	}
	act, err := power.ParseAction(action)
	if err != nil {
		return nil, fail(inventory.ErrInvalid, "use status, on, off, cycle or soft", "host %s: %v", h.Hostname, err)
	}
	if err := d.Do(ctx, act); err != nil {
		s.event(ctx, h.ID(), "power", fmt.Sprintf("power %s by %s failed: %v", act, a, err))
		return res, err
	}
	s.event(ctx, h.ID(), "power", fmt.Sprintf("power %s by %s", act, a))
	res.Steps = append(res.Steps, "power "+string(act))
	return res, nil
}

func (s *Service) recordState(ctx context.Context, h *inventory.Host, st power.State) {
	bs, err := s.bmcs()
	if err == nil {
		err = bs.RecordPowerState(ctx, h.ID(), string(st), s.o.Now())
	}
	if err != nil && s.o.Warn != nil {
		s.o.Warn("record power state", "host", h.Hostname, "err", err)
	}
}

// Reinstall puts a host in build mode and makes it boot the network now:
// next boot PXE once (EFI for UEFI hosts), set right before the power
// action because BMCs drop the flag 60 s after it is set, then a power
// cycle, or power on when the chassis is off. A BMC that refuses the boot
// device is recorded and the reinstall goes on (a machine that boots the
// network first still installs). Each step is on the host's timeline.
func (s *Service) Reinstall(ctx context.Context, a Actor, key string, ttl time.Duration) (r *PowerResult, err error) {
	defer func() { s.audit(a, "reinstall", powerTarget(r, key), err) }()
	h, b, err := s.hostBMC(ctx, key)
	if err != nil {
		return nil, err
	}
	res := &PowerResult{Host: h.ID(), Hostname: h.Hostname, Action: "reinstall"}
	d, err := s.driver(h, b)
	if err != nil {
		return res, err
	}
	step := func(detail string) {
		res.Steps = append(res.Steps, detail)
		s.event(ctx, h.ID(), "power", detail+" (reinstall by "+a.String()+")")
	}
	failed := func(what string, err error) (*PowerResult, error) {
		step(what + " failed: " + err.Error() + "; the host stays in build mode")
		return res, err
	}
	if h, err = s.Build(ctx, a, key, ttl); err != nil {
		return res, err
	}
	res.Steps = append(res.Steps, "build mode on")
	st, err := d.Status(ctx)
	if err != nil {
		return failed("read power state", err)
	}
	s.recordState(ctx, h, st)
	efi := strings.HasPrefix(h.Arch, "efi")
	bo := power.BootOptions{Device: power.DevicePXE, EFI: efi}
	if err := d.SetBootDevice(ctx, bo); err != nil {
		if !errors.Is(err, power.ErrRefused) {
			return failed("next boot PXE", err)
		}
		step("next boot PXE refused by the BMC (" + err.Error() + "); going on: the machine must boot the network first")
	} else {
		step("next boot PXE once (" + map[bool]string{true: "EFI", false: "legacy"}[efi] + ")")
	}
	act := power.ActionCycle
	if st == power.Off {
		act = power.ActionOn
	}
	if err := d.Do(ctx, act); err != nil {
		return failed("power "+string(act), err)
	}
	step(fmt.Sprintf("power %s (chassis was %s)", act, st))
	res.State = string(power.On)
	return res, nil
}

// Many runs op on each key with at most parallel at once (1 when less) and
// returns the results in the order of keys; an error is kept in its result.
func (s *Service) Many(ctx context.Context, keys []string, parallel int, op func(ctx context.Context, key string) (*PowerResult, error)) []PowerResult {
	if parallel < 1 {
		parallel = 1
	}
	out := make([]PowerResult, len(keys))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, err := op(ctx, k)
			if r == nil {
				r = &PowerResult{Host: k}
			}
			if err != nil {
				r.Error = err.Error()
				if hint := HintOf(err); hint != "" {
					r.Error += " (" + hint + ")"
				}
			}
			out[i] = *r
		}()
	}
	wg.Wait()
	return out
}

// PowerStatusAll reads and records the power state of every host that has
// BMC settings, at most parallel at once.
func (s *Service) PowerStatusAll(ctx context.Context, a Actor, parallel int) ([]PowerResult, error) {
	bs, err := s.bmcs()
	if err != nil {
		return nil, err
	}
	l, err := bs.ListBMCs(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(l))
	for i, b := range l {
		keys[i] = b.HostID
	}
	return s.Many(ctx, keys, parallel, func(ctx context.Context, k string) (*PowerResult, error) {
		return s.Power(ctx, a, k, "status")
	}), nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// PowerStateCounts counts the hosts with BMC settings by the power state
// last recorded: "on", "off" and "unread" (never read), for metrics.
func (s *Service) PowerStateCounts(ctx context.Context) (map[string]int, error) {
	bs, err := s.bmcs()
	if err != nil {
		return nil, err
	}
	l, err := bs.ListBMCs(ctx)
	if err != nil {
		return nil, err
	}
	n := map[string]int{string(power.On): 0, string(power.Off): 0, "unread": 0}
	for _, b := range l {
		st := b.PowerState
		if st == "" {
			st = "unread"
		}
		n[st]++
	}
	return n, nil
}

// powerTarget names the host of a power request for its audit line (r is
// nil when the request failed before the host was read).
func powerTarget(r *PowerResult, key string) auditTarget {
	if r == nil {
		return onHost(nil, key)
	}
	return onHostNamed(r.Hostname, r.Host, key)
}
