package main

import (
	"fmt"
	"regexp"
	"strings"
)

// bootEntry is what a boot config tells the machine to load next.
type bootEntry struct {
	Kernel    string // path on the TFTP server (pxelinux) or URL (iPXE)
	Initrd    string
	Kickstart string // the ks= or inst.ks= URL from the kernel command line
	LocalBoot bool   // the config boots the local disk instead
}

// parsePXELinux reads the install entry of a pxelinux.cfg file as pxelinux
// does for a DEFAULT label: KERNEL (or LINUX), APPEND initrd= and ks=.
func parsePXELinux(cfg string) (bootEntry, error) {
	var e bootEntry
	for _, line := range strings.Split(cfg, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "LOCALBOOT":
			e.LocalBoot = true
		case "KERNEL", "LINUX":
			if len(f) > 1 && e.Kernel == "" {
				e.Kernel = f[1]
			}
		case "INITRD":
			if len(f) > 1 && e.Initrd == "" {
				e.Initrd = f[1]
			}
		case "APPEND":
			for _, a := range f[1:] {
				if v, ok := strings.CutPrefix(a, "initrd="); ok && e.Initrd == "" {
					e.Initrd = strings.Split(v, ",")[0]
				}
				if v, ok := kickstartArg(a); ok {
					e.Kickstart = v
				}
			}
		}
	}
	return e, checkEntry(e, "pxelinux config")
}

// parseIPXE reads an iPXE script as iPXE runs the install case: the URL of
// `kernel` (and ks= from its arguments) and of `initrd` (after its options).
func parseIPXE(script string) (bootEntry, error) {
	var e bootEntry
	if !strings.HasPrefix(script, "#!ipxe") {
		return e, fmt.Errorf("iPXE script: does not start with #!ipxe (got %q)", firstLine(script))
	}
	for _, line := range strings.Split(script, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "exit", "sanboot":
			e.LocalBoot = true
		case "kernel", "chain", "imgexec":
			if i := imageArg(f); i > 0 && e.Kernel == "" {
				e.Kernel = f[i]
				for _, b := range f[i+1:] {
					if v, ok := kickstartArg(b); ok {
						e.Kickstart = v
					}
				}
			}
		case "initrd", "module":
			if i := imageArg(f); i > 0 && e.Initrd == "" {
				e.Initrd = f[i]
			}
		}
	}
	return e, checkEntry(e, "iPXE script")
}

// imageArg is the index of the image URI in an iPXE image command's fields,
// after its options (--name and --timeout take a value unless given with =);
// 0 when there is none.
func imageArg(f []string) int {
	for i := 1; i < len(f); i++ {
		a := f[i]
		switch {
		case a == "--name" || a == "-n" || a == "--timeout" || a == "-t":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return i
		}
	}
	return 0
}

func kickstartArg(a string) (string, bool) {
	for _, p := range []string{"inst.ks=", "ks="} {
		if v, ok := strings.CutPrefix(a, p); ok {
			return v, true
		}
	}
	return "", false
}

func checkEntry(e bootEntry, what string) error {
	switch {
	case e.Kernel == "" && e.LocalBoot:
		return fmt.Errorf("%s: boots the local disk (host not in build mode?)", what)
	case e.Kernel == "":
		return fmt.Errorf("%s: no kernel line", what)
	case e.Initrd == "":
		return fmt.Errorf("%s: no initrd", what)
	case e.Kickstart == "":
		return fmt.Errorf("%s: no ks= on the kernel command line", what)
	}
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 60 {
		l = l[:60]
	}
	return l
}

var callbackRE = regexp.MustCompile(`https?://[^\s'"]+/built\?token=[0-9A-Za-z]+`)

// callbackURL finds the %post install report URL in a kickstart, as the
// %post's curl would call it.
func callbackURL(ks string) (string, error) {
	u := callbackRE.FindString(ks)
	if u == "" {
		return "", fmt.Errorf("kickstart: no .../built?token= callback URL in %d bytes", len(ks))
	}
	return u, nil
}

// tftpPath turns a pxelinux path into the name pxelinux requests: relative
// to the directory pxelinux.0 came from (the TFTP root here), or the path of
// a tftp:// or ::-prefixed name.
func tftpPath(p string) string {
	p = strings.TrimPrefix(p, "::")
	if rest, ok := strings.CutPrefix(p, "tftp://"); ok {
		if _, path, ok := strings.Cut(rest, "/"); ok {
			return path
		}
	}
	return strings.TrimPrefix(p, "/")
}
