// Package bind gathers the facts boot.TokenBinding decides on: the
// addresses a host holds now (its reservation, the current lease of each of
// its MACs) and what the kernel's neighbour table says about the requester.
// Every path that hands out or accepts a build token (pxelinux configs over
// TFTP and HTTP, iPXE scripts, GRUB configs, /ks, the install callbacks)
// asks a Binder before it does.
package bind

import (
	"context"
	"errors"
	"net/netip"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/boot/neigh"
	"github.com/netkick/netkick/inventory"
)

// Leases tells the address a MAC holds now (inventory.SQLite has it; in
// proxy mode the address learned from the machine's REQUEST).
type Leases interface {
	LeaseIP(ctx context.Context, mac string) (string, error)
}

// Neighbours says whether an address is directly attached and its
// link-layer address (neigh.Table has it).
type Neighbours interface {
	Lookup(ctx context.Context, addr netip.Addr) (neigh.Entry, error)
}

// Binder checks that a request comes from the machine a host's token belongs
// to. The zero Binder checks only the reservation; set Leases for leased
// addresses and Neigh for the link-layer check on attached segments.
type Binder struct {
	Leases Leases
	Neigh  Neighbours
}

// Check returns nil when remote is bound to h, else a *boot.Refusal (or a
// lookup error, which callers treat as a refusal: the token is withheld).
func (b *Binder) Check(ctx context.Context, h *inventory.Host, remote netip.Addr) error {
	in, err := b.Gather(ctx, h, remote)
	if err != nil {
		return err
	}
	return boot.TokenBinding(in)
}

// Gather collects the facts for boot.TokenBinding.
func (b *Binder) Gather(ctx context.Context, h *inventory.Host, remote netip.Addr) (boot.Binding, error) {
	in := boot.Binding{Host: h, Remote: remote.Unmap()}
	if h == nil {
		return in, nil
	}
	add := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil && !containsAddr(in.Known, a.Unmap()) {
			in.Known = append(in.Known, a.Unmap())
		}
	}
	if h.IP != "" {
		add(h.IP)
	}
	if b.Leases != nil {
		for _, m := range h.MACs {
			ip, err := b.Leases.LeaseIP(ctx, m)
			switch {
			case err == nil:
				add(ip)
			case errors.Is(err, inventory.ErrNotFound):
			default:
				return in, err
			}
		}
	}
	// The neighbour table matters only for an address the host holds.
	if b.Neigh == nil || !remote.IsValid() || !containsAddr(in.Known, in.Remote) {
		return in, nil
	}
	e, err := b.Neigh.Lookup(ctx, in.Remote)
	if err != nil {
		return in, err
	}
	in.Attached, in.NeighMAC = e.Attached, e.MAC
	return in, nil
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}
