package rpmbuild

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// ErrToolMissing marks a missing program (rpmbuild, createrepo_c, perl).
var ErrToolMissing = errors.New("required program not installed")

// tool is a program the build runs and the Debian package that has it.
type tool struct{ prog, pkg string }

func buildTools() []tool {
	return []tool{{"rpmbuild", "rpm"}, {"createrepo_c", "createrepo-c"}, {"perl", "perl"}, {"make", "make"}}
}

// BuildOptions says what to build and where the RPM goes.
type BuildOptions struct {
	Tarball  string    // CPAN dist tarball
	RepoDir  string    // yum repository directory; created if missing
	Packager string    // "Name <mail>", "" for DefaultPackager
	Date     time.Time // %changelog date; zero means now
	Progress io.Writer // one line per step; nil for none
	// ScratchDir is where the rpmbuild topdir is made ("" = the system temp
	// dir). The topdir is removed after a successful build and kept, with its
	// log, after a failed one.
	ScratchDir string
	// Spec, when set, is used instead of the generated spec (for a spec
	// written by hand or repaired with FixSpec).
	Spec string
	// TargetSiteLib, when set, is the site lib of the hosts that will
	// install the RPM (e.g. /usr/lib/perl5/site_perl/5.8.8 on CentOS 5) when
	// it differs from the build host's. Pure-Perl dists only: an XS module
	// must be built against the target's perl, on a host like the target.
	TargetSiteLib string
	// Target, when set, is the EL release the RPM is for: its site lib
	// (TargetSiteLib must then be empty), what its rpm accepts (EL5: MD5
	// file digests, gzip payload) and its repodata (EL5: SHA-1). XS dists
	// are refused: built here they would link against this host's perl.
	Target *Target
	// LogLines is how many of rpmbuild's last lines a failure shows (0 = 25).
	LogLines int
}

// BuildResult tells what was built.
type BuildResult struct {
	Plan *Plan
	Spec string
	RPMs []string // paths of the RPMs in RepoDir
}

// Build makes an RPM from a CPAN tarball and publishes it in a yum
// repository: read and check the tarball, write the spec, run rpmbuild in a
// scratch topdir, copy the RPM into RepoDir, run createrepo_c --update.
func Build(ctx context.Context, o BuildOptions) (*BuildResult, error) {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	step := func(n int, format string, a ...any) {
		fmt.Fprintf(progress, "[%d/6] %s\n", n, fmt.Sprintf(format, a...))
	}
	if o.RepoDir == "" {
		return nil, errors.New("build: no repository directory: pass --repo DIR")
	}
	if o.Date.IsZero() {
		o.Date = time.Now()
	}
	lines := o.LogLines
	if lines <= 0 {
		lines = 25
	}

	step(1, "reading %s", o.Tarball)
	d, err := OpenDist(o.Tarball)
	if err != nil {
		return nil, err
	}
	plan, spec, err := GenerateSpec(d, o.Packager, o.Date)
	if err != nil {
		return nil, err
	}
	if o.Spec != "" {
		spec = o.Spec
	}
	arch := "noarch"
	if plan.Arch {
		arch = "arch-specific (XS/C)"
	}
	fmt.Fprintf(progress, "      %s %s from %s, %s, %s\n", plan.DistName, plan.Version, plan.Meta.Source, plan.Builder, arch)

	step(2, "checking rpmbuild, createrepo_c, perl and make")
	paths := map[string]string{}
	for _, t := range buildTools() {
		p, err := exec.LookPath(t.prog)
		if err != nil {
			return nil, fmt.Errorf("%w: %s is not on PATH: install the Debian package %q (apt-get install %s)", ErrToolMissing, t.prog, t.pkg, t.pkg)
		}
		paths[t.prog] = p
	}
	defines, err := perlMacros(ctx, paths["rpmbuild"], paths["perl"])
	if err != nil {
		return nil, err
	}
	if t := o.Target; t != nil {
		if o.TargetSiteLib != "" {
			return nil, fmt.Errorf("give a target (%s) or a target site lib, not both", t.Name)
		}
		if plan.Arch {
			return nil, fmt.Errorf("%s has XS/C code: built on this host it would link against this host's perl, not %s's system perl; build it on an %s host (only pure-Perl dists are built for another target)", d.File, t.Name, t.Name)
		}
		o.TargetSiteLib = t.SiteLib
		defines = append(defines, t.defines()...)
		fmt.Fprintf(progress, "      target %s\n", t.Name)
	}
	if o.TargetSiteLib != "" {
		if plan.Arch {
			return nil, fmt.Errorf("%s has XS/C code: it must be built against the target's perl, on a host like the target; --target-sitelib is for pure-Perl dists only", d.File)
		}
		if !filepath.IsAbs(o.TargetSiteLib) || filepath.Clean(o.TargetSiteLib) != o.TargetSiteLib || strings.ContainsAny(o.TargetSiteLib, " \t\n%'\"$`\\") {
			return nil, fmt.Errorf("target site lib %q: want a clean absolute path such as /usr/lib/perl5/site_perl/5.8.8 (perl -V:installsitelib on a target host)", o.TargetSiteLib)
		}
		kept := defines[:0]
		for _, def := range defines {
			if !strings.HasPrefix(def, "perl_sitelib ") {
				kept = append(kept, def)
			}
		}
		defines = append(kept, "perl_sitelib "+o.TargetSiteLib)
		fmt.Fprintf(progress, "      installing into the target's site lib %s\n", o.TargetSiteLib)
	}

	top, err := os.MkdirTemp(o.ScratchDir, "netkick-rpm-")
	if err != nil {
		return nil, fmt.Errorf("build: scratch topdir: %w", err)
	}
	ok := false
	defer func() {
		if ok {
			os.RemoveAll(top)
		}
	}()
	for _, sub := range []string{"SOURCES", "SPECS", "BUILD", "RPMS", "SRPMS", "BUILDROOT"} {
		if err := os.Mkdir(filepath.Join(top, sub), 0o755); err != nil {
			return nil, fmt.Errorf("build: scratch topdir: %w", err)
		}
	}
	specPath := filepath.Join(top, "SPECS", plan.Name+".spec")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		return nil, fmt.Errorf("build: write spec: %w", err)
	}
	if err := copyFile(o.Tarball, filepath.Join(top, "SOURCES", d.File)); err != nil {
		return nil, fmt.Errorf("build: copy tarball into the topdir: %w", err)
	}
	if o.Spec != "" {
		step(3, "wrote %s (the spec given, not a generated one)", specPath)
	} else {
		step(3, "wrote %s", specPath)
	}

	step(4, "rpmbuild -bb %s (topdir %s)", filepath.Base(specPath), top)
	args := []string{"-bb",
		// Debian's RPM database does not know the system perl or its
		// modules, so BuildRequires cannot be checked there; the build
		// itself (Makefile.PL, the tests) checks the prerequisites.
		"--nodeps",
		"--define", "_topdir " + top}
	for _, def := range defines {
		args = append(args, "--define", def)
	}
	args = append(args, specPath)
	logPath := filepath.Join(top, "rpmbuild.log")
	if err := runLogged(ctx, paths["rpmbuild"], args, logPath, progress, lines); err != nil {
		return nil, fmt.Errorf("rpmbuild failed for %s (full log and topdir kept: %s): %w", d.File, logPath, err)
	}
	built, err := findRPMs(filepath.Join(top, "RPMS"))
	if err != nil || len(built) == 0 {
		return nil, fmt.Errorf("rpmbuild made no RPM for %s under %s (see %s)", d.File, filepath.Join(top, "RPMS"), logPath)
	}

	if err := os.MkdirAll(o.RepoDir, 0o755); err != nil {
		return nil, fmt.Errorf("repository %s: %w", o.RepoDir, err)
	}
	unlock, err := lockRepo(o.RepoDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	res := &BuildResult{Plan: plan, Spec: spec}
	for _, r := range built {
		dst := filepath.Join(o.RepoDir, filepath.Base(r))
		step(5, "adding %s to %s", filepath.Base(r), o.RepoDir)
		if err := copyFile(r, dst); err != nil {
			return nil, fmt.Errorf("copy the RPM into the repository: %w", err)
		}
		res.RPMs = append(res.RPMs, dst)
	}
	step(6, "createrepo_c --update %s", o.RepoDir)
	var out bytes.Buffer
	crArgs := []string{"--update"}
	if o.Target != nil {
		crArgs = append(crArgs, o.Target.createrepoArgs()...)
	}
	cmd := exec.CommandContext(ctx, paths["createrepo_c"], append(crArgs, o.RepoDir)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("createrepo_c --update %s: %w\n%s", o.RepoDir, err, lastLines(out.String(), lines))
	}
	ok = true
	return res, nil
}

// perlMacros returns --define values for the perl macros the spec uses that
// the local RPM does not define (Debian's rpm has none of them), taken from
// the build host's perl.
func perlMacros(ctx context.Context, rpmbuild, perl string) ([]string, error) {
	want := []struct{ macro, cfg string }{
		{"perl_sitelib", "installsitelib"},
		{"perl_sitearch", "installsitearch"},
		{"perl_sitescript", "installsitescript"},
		{"perl_vendorlib", "installvendorlib"},
		{"perl_vendorarch", "installvendorarch"},
		{"__perl", ""},
	}
	var q []string
	for _, w := range want {
		q = append(q, "%{?"+w.macro+"}")
	}
	out, err := exec.CommandContext(ctx, rpmbuild, "--eval", strings.Join(q, "|")).Output()
	if err != nil {
		return nil, fmt.Errorf("rpmbuild --eval: %w", err)
	}
	have := strings.Split(strings.TrimSpace(string(out)), "|")
	cfgArgs := []string{}
	for _, w := range want {
		if w.cfg != "" {
			cfgArgs = append(cfgArgs, "-V:"+w.cfg)
		}
	}
	cfgOut, err := exec.CommandContext(ctx, perl, cfgArgs...).Output()
	if err != nil {
		return nil, fmt.Errorf("perl %s: %w", strings.Join(cfgArgs, " "), err)
	}
	cfg := ParsePerlConfig(string(cfgOut))
	var defs []string
	for i, w := range want {
		if i < len(have) && have[i] != "" {
			continue
		}
		v := perl
		if w.cfg != "" {
			v = cfg[w.cfg]
			if v == "" {
				return nil, fmt.Errorf("perl -V:%s printed nothing: cannot tell where site_perl is", w.cfg)
			}
		}
		defs = append(defs, w.macro+" "+v)
	}
	return defs, nil
}

// ParsePerlConfig reads `perl -V:name` output (name='value';) into a map.
func ParsePerlConfig(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.TrimSuffix(v, ";")
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
		}
		m[k] = v
	}
	return m
}

// runLogged runs a command, writes its output to logPath, reports each
// rpmbuild stage (Executing(%build) …) as progress, and on failure returns
// the last lines of the output.
func runLogged(ctx context.Context, prog string, args []string, logPath string, progress io.Writer, keep int) error {
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	pr, pw := io.Pipe()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	// rpmbuild starts make, perl and the compiler: on cancel, end the whole
	// process group, not rpmbuild alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()
	var tail []string
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(logf, line)
		if strings.HasPrefix(line, "Executing(%") {
			stage, _, _ := strings.Cut(strings.TrimPrefix(line, "Executing("), ")")
			fmt.Fprintf(progress, "      %s\n", stage)
		}
		tail = append(tail, line)
		if len(tail) > keep {
			tail = tail[1:]
		}
	}
	io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		return fmt.Errorf("%w; last lines:\n%s", err, strings.Join(tail, "\n"))
	}
	return nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func findRPMs(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(p, ".rpm") {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// copyFile copies through a temporary file and a rename, so a reader of dst
// never sees half a file.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// lockRepo serialises builds into one repository (createrepo_c --update is
// not safe to run twice at once on the same directory).
func lockRepo(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".netkick-repo.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock repository %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock repository %s: %w", dir, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
