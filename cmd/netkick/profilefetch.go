package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/boot/treefetch"
	"github.com/netkick/netkick/inventory"

	"github.com/spf13/cobra"
)

// profileFetchCmd is `netkick profile fetch NAME`: it copies a profile's
// installer kernel and initrd from its install tree into the boot root.
func profileFetchCmd(a *app) *cobra.Command {
	var o fetchOptions
	c := &cobra.Command{
		Use:               "fetch NAME [--from URL|DIR] [--boot-root DIR] [--arch x86_64]",
		Short:             "copy a profile's installer kernel and initrd from its install tree into the boot root",
		ValidArgsFunction: a.completeNamed("profile"),
		RunE: func(c *cobra.Command, pos []string) error {
			return a.profileFetch(c.Context(), o, pos)
		},
	}
	c.Flags().StringVar(&o.from, "from", "", "install tree to fetch from: http(s) URL or directory (default: the profile's install_url)")
	c.Flags().StringVar(&o.bootRoot, "boot-root", "", "boot root to write into (default <data>/boot, as netkick serve uses)")
	c.Flags().StringVar(&o.arch, "arch", "x86_64", "architecture whose images .treeinfo names")
	return c
}

// fetchOptions are profile fetch's flags.
type fetchOptions struct{ from, bootRoot, arch string }

func (a *app) profileFetch(ctx context.Context, o fetchOptions, pos []string) error {
	sf := &a.sf
	if len(pos) != 1 {
		return usageError{"want the profile NAME"}
	}
	if sf.server != "" {
		return usageError{"profile fetch writes into the boot root on this machine: run it where `netkick serve` runs, with --data (or --boot-root), not --server"}
	}
	b, err := sf.open()
	if err != nil {
		return err
	}
	defer b.Close()
	ps, err := b.ListProfiles(ctx)
	if err != nil {
		return err
	}
	var p *inventory.Profile
	for i := range ps {
		if ps[i].Name == pos[0] {
			p = &ps[i]
		}
	}
	if p == nil {
		return fmt.Errorf("profile %q does not exist (list them with `netkick profile list`)", pos[0])
	}
	treeURL := o.from
	if treeURL == "" {
		treeURL = p.InstallURL
	}
	if treeURL == "" {
		return usageError{fmt.Sprintf("profile %s has no install_url: give --from with the install tree (e.g. http://mirror.example/centos/7.9.2009/os/x86_64/ or a mounted DVD directory)", p.Name)}
	}
	kernelTo, initrdTo := p.Kernel, p.Initrd
	if kernelTo == "" {
		kernelTo = p.Name + "/vmlinuz"
	}
	if initrdTo == "" {
		initrdTo = p.Name + "/initrd.img"
	}
	for _, dst := range []string{kernelTo, initrdTo} {
		if strings.Contains(dst, "://") {
			return fmt.Errorf("profile %s names its kernel or initrd by URL (%s): the boot loader fetches it from there, nothing to copy into the boot root", p.Name, dst)
		}
	}
	dir := o.bootRoot
	if dir == "" {
		dir = filepath.Join(sf.data, "boot")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create boot root %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open boot root %s: %w", dir, err)
	}
	defer root.Close()
	src, err := treefetch.NewSource(treeURL, &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 30 * time.Second, TLSHandshakeTimeout: 15 * time.Second}})
	if err != nil {
		return err
	}
	ti, err := src.ReadTreeinfo(ctx, o.arch)
	if err != nil {
		return err
	}
	note := "no .treeinfo: usual paths, sizes checked, no checksums"
	if ti != nil {
		note = fmt.Sprintf(".treeinfo has %d checksums", len(ti.Checksums))
	}
	fmt.Fprintf(a.stdout, "fetching profile %s from %s (%s)\n", p.Name, src, note)
	tty := isTerminal(os.Stderr)
	for _, f := range treefetch.Plan(ti, kernelTo, initrdTo) {
		if err := a.fetchOne(ctx, src, root, dir, f, tty); err != nil {
			return err
		}
	}
	// The tree's own shim and GRUB, for bootloader grub (Secure Boot): the
	// kernel just fetched is signed by the key this shim carries.
	shim := ""
	efiDir := path.Dir(kernelTo)
	if efiDir == "." {
		efiDir = p.Name
	}
	for i, f := range treefetch.PlanEFI(ti, efiDir) {
		err := a.fetchOne(ctx, src, root, dir, f, tty)
		if treefetch.IsNotFound(err) && i == 0 {
			fmt.Fprintf(a.stdout, "  %s: not in the tree; Secure Boot (bootloader grub) uses the boot root's %s (`netkick bootfiles`)\n", f.From, boot.FileShim)
			break
		}
		if err != nil {
			return err
		}
		if i == 0 {
			shim = f.To
		}
	}
	changed := p.Kernel != kernelTo || p.Initrd != initrdTo || (shim != "" && p.Shim != shim)
	if shim != "" {
		p.Shim = shim
	}
	if changed {
		p.Kernel, p.Initrd = kernelTo, initrdTo
		if err := b.PutProfile(ctx, p); err != nil {
			return fmt.Errorf("files fetched, but saving profile %s failed: %w", p.Name, err)
		}
		fmt.Fprintf(a.stdout, "profile %s now boots kernel %s, initrd %s\n", p.Name, kernelTo, initrdTo)
		if shim != "" {
			fmt.Fprintf(a.stdout, "profile %s: Secure Boot (bootloader grub) through its own shim %s and GRUB beside it\n", p.Name, shim)
		}
	}
	return nil
}

// fetchOne fetches one tree file into the boot root, with progress, and
// prints what it did.
func (a *app) fetchOne(ctx context.Context, src *treefetch.Source, root *os.Root, dir string, f treefetch.File, tty bool) error {
	// On a terminal one line redrawn; elsewhere (logs, provisioning) a
	// line every 5 s, so a slow mirror is never silent for long.
	start, last := time.Now(), time.Now()
	progress := func(done, total int64) {
		if !reportProgress(tty, time.Since(last), done, total) {
			return
		}
		last = time.Now()
		rate := float64(done) / time.Since(start).Seconds() / 1e6
		line := fmt.Sprintf("  %s: %.1f MB, %.1f MB/s", f.From, float64(done)/1e6, rate)
		if total > 0 {
			line = fmt.Sprintf("  %s: %.1f / %.1f MB, %.1f MB/s", f.From, float64(done)/1e6, float64(total)/1e6, rate)
		}
		if tty {
			fmt.Fprintf(a.stderr, "\r%s   ", line)
		} else {
			fmt.Fprintln(a.stderr, line)
		}
	}
	res, err := treefetch.Fetch(ctx, src, root, f, progress)
	if tty {
		fmt.Fprint(a.stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	check := "no checksum in the tree"
	switch {
	case res.UpToDate:
		check = res.Digest.Algo + " matches .treeinfo, already up to date"
	case f.Want != nil:
		check = res.Digest.Algo + " ok (.treeinfo)"
	}
	fmt.Fprintf(a.stdout, "  %s -> %s  %.1f MB  %s  %s\n", f.From, filepath.Join(dir, filepath.FromSlash(f.To)),
		float64(res.Bytes)/1e6, check, res.Elapsed.Round(10*time.Millisecond))
	return nil
}

// reportProgress decides whether a progress line is printed now: always on
// a terminal (the caller already limits it to 5 a second), else every 5 s and
// not for the final count (the summary line follows).
func reportProgress(tty bool, sinceLast time.Duration, done, total int64) bool {
	if tty {
		return true
	}
	return sinceLast >= 5*time.Second && (total <= 0 || done < total)
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
