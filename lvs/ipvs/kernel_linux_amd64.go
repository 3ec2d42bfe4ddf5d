//go:build linux && amd64

package ipvs

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mqliang/libipvs"
)

// ProcIPVS exists when the ip_vs module is loaded.
const ProcIPVS = "/proc/net/ip_vs"

// Handle is the kernel's IPVS table reached through one libipvs handle.
// Every call runs with a timeout; after a call times out the handle is
// marked stuck (libipvs's netlink hub may never answer again) and every
// later call fails fast: Open a new Handle.
type Handle struct {
	h       libipvs.IPVSHandle
	timeout time.Duration
	mu      sync.Mutex
	stuck   bool
}

// Open connects to IPVS in the caller's network namespace. It does not load
// the module: without ip_vs it says how to load it. timeout bounds each call
// (0 means DefaultTimeout).
func Open(ctx context.Context, timeout time.Duration) (*Handle, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if _, err := os.Stat(ProcIPVS); err != nil {
		return nil, fmt.Errorf("the ip_vs kernel module is not loaded (%s is missing): run `modprobe ip_vs` as root on the director", ProcIPVS)
	}
	k := &Handle{timeout: timeout}
	err := k.call(ctx, "open", func() error {
		h, err := libipvs.NewIPVSHandle(libipvs.IPVSHandleParams{LoadModule: false})
		if err == nil {
			k.h = h
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening IPVS netlink (needs root or CAP_NET_ADMIN): %w", err)
	}
	return k, nil
}

// call runs fn in its own goroutine and gives up after the timeout or when
// ctx ends. A call that gave up leaves its goroutine behind (libipvs offers
// no way to cancel it) and marks the handle stuck.
func (k *Handle) call(ctx context.Context, what string, fn func() error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stuck {
		return fmt.Errorf("IPVS %s: the netlink handle is stuck after an earlier timeout; open a new one", what)
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("libipvs panicked: %v", r)
			}
		}()
		done <- fn()
	}()
	t := time.NewTimer(k.timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		k.stuck = true
		return fmt.Errorf("IPVS %s: no answer from the kernel within %s; retry (a new handle is needed)", what, k.timeout)
	case <-ctx.Done():
		k.stuck = true
		return fmt.Errorf("IPVS %s: %w", what, ctx.Err())
	}
}

// Table reads the kernel's services and servers with their counters.
func (k *Handle) Table(ctx context.Context) (Table, error) {
	var svcs []*libipvs.Service
	if err := k.call(ctx, "list services", func() (err error) { svcs, err = k.h.ListServices(); return err }); err != nil {
		return nil, err
	}
	var t Table
	for _, ls := range svcs {
		s, ok := fromLib(ls)
		if !ok {
			continue // fwmark or IPv6 service: not netkick's
		}
		var dsts []*libipvs.Destination
		if err := k.call(ctx, "list servers of "+s.Key.String(), func() (err error) { dsts, err = k.h.ListDestinations(ls); return err }); err != nil {
			return nil, err
		}
		for _, d := range dsts {
			a, ok := netip.AddrFromSlice(d.Address)
			if !ok {
				continue
			}
			s.Dests = append(s.Dests, Dest{Addr: a.Unmap(), Port: d.Port, Weight: d.Weight, Fwd: d.FwdMethod.String(),
				ActiveConns: d.ActiveConns, InactiveConns: d.InactConns})
		}
		t = append(t, s)
	}
	return t, nil
}

// Apply performs one change through libipvs.
func (k *Handle) Apply(ctx context.Context, c Change) error {
	svc, err := toLib(c.Service)
	if err != nil {
		return err
	}
	var dst *libipvs.Destination
	if c.Op == AddServer || c.Op == EditServer || c.Op == DelServer {
		if dst, err = destToLib(c.Dest); err != nil {
			return err
		}
	}
	return k.call(ctx, string(c.Op)+" "+c.Service.Key.String(), func() error {
		switch c.Op {
		case AddService:
			return k.h.NewService(svc)
		case EditService:
			return k.h.UpdateService(svc)
		case DelService:
			return k.h.DelService(svc)
		case AddServer:
			return k.h.NewDestination(svc, dst)
		case EditServer:
			return k.h.UpdateDestination(svc, dst)
		case DelServer:
			return k.h.DelDestination(svc, dst)
		}
		return fmt.Errorf("unknown change %q", c.Op)
	})
}

func fromLib(ls *libipvs.Service) (Service, bool) {
	if ls.FWMark != 0 || ls.AddressFamily != syscall.AF_INET {
		return Service{}, false
	}
	a, ok := netip.AddrFromSlice(ls.Address)
	if !ok {
		return Service{}, false
	}
	var proto string
	switch ls.Protocol {
	case syscall.IPPROTO_TCP:
		proto = "tcp"
	case syscall.IPPROTO_UDP:
		proto = "udp"
	default:
		return Service{}, false
	}
	s := Service{Key: Key{Protocol: proto, Addr: a.Unmap(), Port: ls.Port}, Scheduler: ls.SchedName}
	if ls.Flags.Flags&libipvs.IP_VS_SVC_F_PERSISTENT != 0 {
		s.Persistent = ls.Timeout
	}
	return s, true
}

// toLib builds the libipvs service with every identifying field and the
// address family set (libipvs panics without them).
func toLib(s Service) (*libipvs.Service, error) {
	if !s.Addr.Is4() || s.Port == 0 {
		return nil, fmt.Errorf("service %s: want an IPv4 address and a port", s.Key)
	}
	var proto libipvs.Protocol
	switch s.Protocol {
	case "tcp":
		proto = syscall.IPPROTO_TCP
	case "udp":
		proto = syscall.IPPROTO_UDP
	default:
		return nil, fmt.Errorf("service %s: protocol %q: want tcp or udp", s.Key, s.Protocol)
	}
	ls := &libipvs.Service{
		AddressFamily: syscall.AF_INET,
		Protocol:      proto,
		Address:       net.IP(s.Addr.AsSlice()),
		Port:          s.Port,
		SchedName:     s.Scheduler,
		Netmask:       0xffffffff,
	}
	if s.Persistent > 0 {
		ls.Flags = libipvs.Flags{Flags: libipvs.IP_VS_SVC_F_PERSISTENT, Mask: ^uint32(0)}
		ls.Timeout = s.Persistent
	} else {
		ls.Flags = libipvs.Flags{Flags: 0, Mask: ^uint32(0)}
	}
	return ls, nil
}

func destToLib(d Dest) (*libipvs.Destination, error) {
	if !d.Addr.Is4() || d.Port == 0 {
		return nil, fmt.Errorf("real server %s: want an IPv4 address and a port", d.addrPort())
	}
	fwd, err := libipvs.ParseFwdMethod(d.Fwd)
	if err != nil {
		return nil, fmt.Errorf("real server %s: forwarding %q: want droute, masq or tunnel", d.addrPort(), d.Fwd)
	}
	return &libipvs.Destination{
		AddressFamily: syscall.AF_INET,
		Address:       net.IP(d.Addr.AsSlice()),
		Port:          d.Port,
		FwdMethod:     fwd,
		Weight:        d.Weight,
	}, nil
}

var _ Kernel = (*Handle)(nil)
