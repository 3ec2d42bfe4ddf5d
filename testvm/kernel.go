package testvm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// KernelMeta is the Debian meta-package whose dependency names the guest kernel.
const KernelMeta = "linux-image-amd64"

// Kernel is a Debian kernel package unpacked (never installed) for the guests.
type Kernel struct {
	Package    string // e.g. linux-image-6.1.0-56-amd64
	Version    string // e.g. 6.1.0-56-amd64 (uname -r in the guest)
	Root       string // the dpkg -x tree
	Vmlinuz    string // Root/boot/vmlinuz-Version
	ModulesDir string // Root/lib/modules/Version
}

// KernelPackage picks the versioned kernel package out of the output of
// `apt-cache depends linux-image-amd64` (a line "Depends: linux-image-X-amd64").
func KernelPackage(dependsOutput string) (string, error) {
	sc := bufio.NewScanner(strings.NewReader(dependsOutput))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "|")
		name, ok := strings.CutPrefix(line, "Depends: ")
		if !ok {
			continue
		}
		name = strings.Trim(strings.TrimSpace(name), "<>")
		if strings.HasPrefix(name, "linux-image-") && name != KernelMeta && !strings.ContainsAny(name, " /") {
			return name, nil
		}
	}
	return "", fmt.Errorf("apt-cache depends %s names no linux-image-<version> package (output %q): run apt-get update", KernelMeta, dependsOutput)
}

// KernelVersion is the uname -r of a linux-image-<version> package.
func KernelVersion(pkg string) string { return strings.TrimPrefix(pkg, "linux-image-") }

// FetchKernel downloads the Debian kernel package named by linux-image-amd64
// with apt-get download and unpacks it with dpkg -x under cacheDir/kernel. A
// finished unpack is reused.
func FetchKernel(ctx context.Context, cacheDir string, log io.Writer) (*Kernel, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", KernelMeta).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("apt-cache depends %s: %w: %s (is apt installed and the package list fresh? run apt-get update)", KernelMeta, err, out)
	}
	pkg, err := KernelPackage(string(out))
	if err != nil {
		return nil, err
	}
	return fetchKernelPackage(ctx, cacheDir, pkg, log)
}

func fetchKernelPackage(ctx context.Context, cacheDir, pkg string, log io.Writer) (*Kernel, error) {
	ver := KernelVersion(pkg)
	dir := filepath.Join(cacheDir, "kernel")
	root := filepath.Join(dir, pkg)
	k := &Kernel{Package: pkg, Version: ver, Root: root,
		Vmlinuz:    filepath.Join(root, "boot", "vmlinuz-"+ver),
		ModulesDir: filepath.Join(root, "lib", "modules", ver)}
	done := filepath.Join(root, ".unpacked")
	if _, err := os.Stat(done); err == nil {
		return k, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kernel cache %s: %w", dir, err)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(debs) == 0 {
		fmt.Fprintf(log, "testvm: apt-get download %s into %s\n", pkg, dir)
		cmd := exec.CommandContext(ctx, "apt-get", "download", "-q", pkg)
		cmd.Dir = dir
		if o, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("apt-get download %s: %w: %s (check the network and apt sources)", pkg, err, o)
		}
		debs, _ = filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
		if len(debs) == 0 {
			return nil, fmt.Errorf("apt-get download %s left no %s_*.deb in %s", pkg, pkg, dir)
		}
	}
	_ = os.RemoveAll(root)
	fmt.Fprintf(log, "testvm: dpkg -x %s\n", filepath.Base(debs[0]))
	if o, err := exec.CommandContext(ctx, "dpkg", "-x", debs[0], root).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("dpkg -x %s: %w: %s", debs[0], err, o)
	}
	for _, p := range []string{k.Vmlinuz, k.ModulesDir} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("kernel package %s: %w (unexpected package layout)", pkg, err)
		}
	}
	if err := os.WriteFile(done, []byte(pkg+"\n"), 0o644); err != nil {
		return nil, err
	}
	return k, nil
}
