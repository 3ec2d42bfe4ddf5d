package power

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/command/chassis"
	"github.com/bougou/go-ipmi/pkg/types"
)

// ipmiDriver speaks IPMI v2.0 RMCP+ (lanplus) with cipher suite 3
// (RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128), the suite every IPMI 2.0 BMC
// must offer. Each call opens a session, sends its request and closes the
// session, so no session goes stale between calls.
type ipmiDriver struct {
	bmc BMC
	lim Limits
}

func newIPMI(bmc BMC, lim Limits) *ipmiDriver {
	if bmc.Port == 0 {
		bmc.Port = 623
	}
	return &ipmiDriver{bmc: bmc, lim: lim}
}

func (d *ipmiDriver) addr() string {
	return net.JoinHostPort(d.bmc.Address, strconv.Itoa(d.bmc.Port))
}

// bound is the longest one request may take: every attempt's timeout plus a
// second for the session set-up and tear-down around it.
func (d *ipmiDriver) bound(steps int) time.Duration {
	return time.Duration(steps*(d.lim.Retries+1))*d.lim.Timeout + time.Second
}

// session opens an RMCP+ session, runs fn in it and closes it.
func (d *ipmiDriver) session(ctx context.Context, what string, fn func(ctx context.Context, c *client.Client) error) error {
	// Session set-up is four exchanges, the request one, the close one.
	ctx, cancel := context.WithTimeout(ctx, d.bound(6))
	defer cancel()
	c, err := client.NewClient(d.bmc.Address, d.bmc.Port, d.bmc.User, d.bmc.Password)
	if err != nil {
		return fmt.Errorf("BMC %s: %w", d.addr(), err)
	}
	c.WithTimeout(d.lim.Timeout).WithRetry(d.lim.Retries).WithCipherSuiteID(types.CipherSuiteID3)
	if err := c.Connect(ctx); err != nil {
		return d.explain("open an RMCP+ session", err)
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), d.lim.Timeout)
		defer ccancel()
		_ = c.Close(cctx)
	}()
	if err := fn(ctx, c); err != nil {
		return d.explain(what, err)
	}
	return nil
}

// explain turns a go-ipmi error into one that says which BMC, what was asked
// and what it answered, wrapping ErrRefused, ErrAuth or ErrNoAnswer.
func (d *ipmiDriver) explain(what string, err error) error {
	var re *types.ResponseError
	if errors.As(err, &re) {
		cc := re.CompletionCode()
		return fmt.Errorf("BMC %s: %s: %w: completion code %#02x (%s)", d.addr(), what, ErrRefused, uint8(cc), cc.String())
	}
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "connection refused"),
		strings.Contains(msg, "deadline"):
		return fmt.Errorf("BMC %s: %s: %w within %s (%d attempts of %s); check the address, the port and that IPMI over LAN is enabled: %v",
			d.addr(), what, ErrNoAnswer, d.bound(1), d.lim.Retries+1, d.lim.Timeout, lastLine(msg))
	case strings.Contains(msg, "rakp") || strings.Contains(msg, "RAKP") || strings.Contains(msg, "Open Session"):
		return fmt.Errorf("BMC %s: %s: %w (user %q): %v; check --bmc-user and the password", d.addr(), what, ErrAuth, d.bmc.User, lastLine(msg))
	}
	return fmt.Errorf("BMC %s: %s: %v", d.addr(), what, lastLine(msg))
}

// lastLine keeps the innermost line of go-ipmi's multi-line joined errors.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return s
}

func (d *ipmiDriver) Status(ctx context.Context) (State, error) {
	var st State
	err := d.session(ctx, "Get Chassis Status", func(ctx context.Context, c *client.Client) error {
		res, err := c.GetChassisStatus(ctx)
		if err != nil {
			return err
		}
		st = Off
		if res.PowerIsOn {
			st = On
		}
		return nil
	})
	return st, err
}

// chassisControl maps an action to the Chassis Control command's value
// (IPMI 2.0 table 28-4).
func chassisControl(a Action) (chassis.ChassisControl, error) {
	switch a {
	case ActionOn:
		return chassis.ChassisControlPowerUp, nil
	case ActionOff:
		return chassis.ChassisControlPowerDown, nil
	case ActionCycle:
		return chassis.ChassisControlPowerCycle, nil
	case ActionSoftOff:
		return chassis.ChassisControlSoftShutdown, nil
	}
	return 0, fmt.Errorf("power action %q: want on, off, cycle or soft", a)
}

func (d *ipmiDriver) Do(ctx context.Context, a Action) error {
	ctl, err := chassisControl(a)
	if err != nil {
		return err
	}
	return d.session(ctx, fmt.Sprintf("Chassis Control %s (%#02x)", a, uint8(ctl)), func(ctx context.Context, c *client.Client) error {
		_, err := c.ChassisControl(ctx, ctl)
		return err
	})
}

// bootFlagsRequest is the Set System Boot Options request for parameter 5
// (boot flags), IPMI 2.0 table 28-14: data byte 1 bit 7 "flags valid",
// bit 6 persistent, bit 5 EFI; byte 2 bits 5:2 the boot device (0001b PXE,
// 0010b hard drive); bytes 3 to 5 zero.
func bootFlagsRequest(o BootOptions) (*chassis.SetSystemBootOptionsParamRequest, error) {
	var dev types.BootDeviceSelector
	switch o.Device {
	case DevicePXE:
		dev = types.BootDeviceSelectorForcePXE
	case DeviceDisk:
		dev = types.BootDeviceSelectorForceHardDrive
	default:
		return nil, fmt.Errorf("boot device %q: want pxe or disk", o.Device)
	}
	flags := &types.BootOptionParam_BootFlags{
		BootFlagsValid:     true,
		Persist:            o.Persistent,
		BIOSBootType:       types.BIOSBootType(o.EFI),
		BootDeviceSelector: dev,
	}
	sel, _, _ := flags.BootOptionParameter()
	return &chassis.SetSystemBootOptionsParamRequest{ParamSelector: sel, ParamData: flags.Pack()}, nil
}

func (d *ipmiDriver) SetBootDevice(ctx context.Context, o BootOptions) error {
	req, err := bootFlagsRequest(o)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("Set System Boot Options parameter 5 (next boot %s, %s, %s)", o.Device, onceOr(o.Persistent), legacyOr(o.EFI))
	return d.session(ctx, what, func(ctx context.Context, c *client.Client) error {
		_, err := c.SetSystemBootOptionsParam(ctx, req)
		return err
	})
}

func onceOr(persistent bool) string {
	if persistent {
		return "persistent"
	}
	return "once"
}

func legacyOr(efi bool) string {
	if efi {
		return "EFI"
	}
	return "legacy"
}
