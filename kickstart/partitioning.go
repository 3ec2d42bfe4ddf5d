package kickstart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/layout"
)

// ChooseLayout picks the name of a host's disk layout and says where it came
// from: the host's own, else its profile's, else the first of its roles that
// names one (roleLayout returns "" for a role without a default). An empty
// name means the template's fixed fallback.
func ChooseLayout(h *inventory.Host, p *inventory.Profile, roleLayout func(role string) string) (name, from string) {
	switch {
	case h.Layout != "":
		return h.Layout, "host " + h.Hostname
	case p != nil && p.Layout != "":
		return p.Layout, "profile " + p.Name
	}
	for _, r := range h.Roles {
		if n := roleLayout(r); n != "" {
			return n, "role " + r
		}
	}
	return "", ""
}

// roleLayout reads a role's default layout name from the template
// roles/<role>/layout, if there is one.
func (r *Renderer) roleLayout(role string, d *Data) (string, error) {
	name := "roles/" + role + "/layout"
	ts := r.set.Load()
	if !ts.names[name] {
		return "", nil
	}
	var b bytes.Buffer
	if err := ts.tmpl.ExecuteTemplate(&b, name, d); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	n := strings.TrimSpace(b.String())
	if n == "" {
		return "", nil
	}
	if err := inventory.ValidateName("layout", n); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return n, nil
}

// LayoutSource finds stored layouts.
type LayoutSource interface {
	GetLayout(ctx context.Context, name string) (*inventory.Layout, error)
}

// FindLayout returns the stored layout of that name, else the built-in one.
func FindLayout(ctx context.Context, src LayoutSource, name string) (*inventory.Layout, error) {
	l, err := src.GetLayout(ctx, name)
	if err == nil {
		return l, nil
	}
	if !errors.Is(err, inventory.ErrNotFound) {
		return nil, fmt.Errorf("layout %s: %w", name, err)
	}
	if b, ok := layout.Builtin(name); ok {
		return b, nil
	}
	return nil, missingLayout(name)
}

// missingLayout is the error for a layout that is neither stored nor built in.
type missingLayout string

func (e missingLayout) Error() string {
	return fmt.Sprintf("layout %s does not exist: create it with PUT /api/v1/layouts/%s or `netkick import`, or use a built-in (%s)",
		string(e), string(e), strings.Join(layout.BuiltinNames(), ", "))
}

func (e missingLayout) Unwrap() error { return inventory.ErrNotFound }

// partitioning fills d.Partitioning with the %pre of the host's layout.
func (r *Renderer) partitioning(ctx context.Context, src LayoutSource, d *Data) error {
	var roleErr error
	name, from := ChooseLayout(&d.Host, &d.Profile, func(role string) string {
		n, err := r.roleLayout(role, d)
		if err != nil && roleErr == nil {
			roleErr = err
		}
		return n
	})
	if roleErr != nil {
		return roleErr
	}
	if name == "" {
		d.Partitioning.FallbackBoot = fallbackBoot(layout.ParseFirmware(d.Host.Arch), d.OS)
		return nil
	}
	l, err := FindLayout(ctx, src, name)
	if err != nil {
		// A missing layout is a configuration error of the host, never a 404.
		return fmt.Errorf("%s names %v", from, err)
	}
	pre, err := layout.PreScript(l, layout.ScriptOptions{
		Firmware:    layout.ParseFirmware(d.Host.Arch),
		OmitEnd:     d.OS.End == "",
		ErrorOnFail: d.OS.Major >= 6,
	})
	if err != nil {
		return fmt.Errorf("%s names layout %s, which is not valid: %w", from, name, err)
	}
	d.Partitioning = Partitioning{Layout: name, Pre: strings.TrimRight(pre, "\n"), Include: layout.IncludeFile}
	return nil
}

// fallbackBoot is the firmware's boot partition line for the fixed fallback
// layout: the EFI system partition on a UEFI host, `reqpart` (whatever the
// firmware needs, from RHEL 7 on) when the firmware is not known yet, and
// nothing on BIOS, where /boot on an msdos label is enough.
func fallbackBoot(fw layout.Firmware, o OS) string {
	switch {
	case fw == layout.FirmwareUEFI:
		return "part /boot/efi --fstype=efi --size=200"
	case fw == layout.FirmwareAuto && o.Major >= 7:
		return "reqpart"
	}
	return ""
}
