// Package power drives machines' baseboard management controllers: power
// state, power actions and the next boot device, behind a small Driver
// interface. The IPMI v2.0 RMCP+ (lanplus) driver is the one built in; other
// protocols (Redfish) fit behind the same interface.
package power

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// State is a chassis power state as the BMC reports it.
type State string

const (
	On  State = "on"
	Off State = "off"
)

// Action is a power action a driver performs.
type Action string

const (
	ActionOn      Action = "on"
	ActionOff     Action = "off"
	ActionCycle   Action = "cycle"
	ActionSoftOff Action = "soft"
)

// ParseAction reads an action name as the CLI and API spell it.
func ParseAction(s string) (Action, error) {
	switch a := Action(strings.ToLower(strings.TrimSpace(s))); a {
	case ActionOn, ActionOff, ActionCycle, ActionSoftOff:
		return a, nil
	}
	return "", fmt.Errorf("power action %q: want on, off, cycle or soft", s)
}

// Device is a boot device the next boot is directed to.
type Device string

const (
	DevicePXE  Device = "pxe"
	DeviceDisk Device = "disk"
)

// BootOptions say where the machine boots next.
type BootOptions struct {
	Device Device
	// Persistent asks the firmware to keep the choice for every later boot;
	// otherwise it applies to the next boot only (and BMCs drop it 60 s
	// after it was set unless the machine boots).
	Persistent bool
	// EFI selects an EFI boot rather than a legacy (PC compatible) one.
	EFI bool
}

// Driver controls one machine through its BMC. Every call is bounded by the
// driver's own timeout as well as by ctx.
type Driver interface {
	Status(ctx context.Context) (State, error)
	Do(ctx context.Context, a Action) error
	SetBootDevice(ctx context.Context, o BootOptions) error
}

// ErrRefused marks an answer in which the BMC refused a request it
// understood (an IPMI completion code other than success). Callers that can
// go on without the request (a machine that boots the network first) test
// for it with errors.Is.
var ErrRefused = errors.New("refused by the BMC")

// ErrAuth marks a session the BMC would not open with the user and password
// given. It is never retried.
var ErrAuth = errors.New("BMC rejected the user or password")

// ErrNoAnswer marks a BMC that did not answer within the bound.
var ErrNoAnswer = errors.New("BMC did not answer")

// BMC says how to reach one machine's BMC.
type BMC struct {
	Driver   string // "ipmi" (the default)
	Address  string // host name or IP address
	Port     int    // UDP port; 623 when 0
	User     string
	Password string
}

// Limits bound every conversation with a BMC.
type Limits struct {
	// Timeout is how long one request waits for its answer.
	Timeout time.Duration
	// Retries is how many times a request that got no answer is sent again.
	// A refusal or a rejected password is never retried.
	Retries int
}

// DefaultLimits: 2 s per attempt, one retry; a silent BMC costs at most
// about 4 s per request.
var DefaultLimits = Limits{Timeout: 2 * time.Second, Retries: 1}

// Open returns the driver bmc names.
func Open(bmc BMC, lim Limits) (Driver, error) {
	if bmc.Address == "" {
		return nil, errors.New("BMC has no address: set one with `netkick host set HOST --bmc-address ADDR`")
	}
	if lim.Timeout <= 0 {
		lim.Timeout = DefaultLimits.Timeout
	}
	if lim.Retries < 0 {
		lim.Retries = 0
	}
	switch bmc.Driver {
	case "", "ipmi", "lanplus":
		return newIPMI(bmc, lim), nil
	}
	return nil, fmt.Errorf("BMC driver %q is not known: the drivers are ipmi", bmc.Driver)
}

// Drivers lists the driver names Open accepts.
func Drivers() []string { return []string{"ipmi"} }
