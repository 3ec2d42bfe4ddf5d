package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/rpmbuild"

	"github.com/spf13/cobra"
)

// rpmCmd is `netkick rpm …`: CPAN tarball -> site_perl spec -> RPM -> yum repository.
func rpmCmd(a *app) *cobra.Command {
	return group("rpm", "CPAN tarball -> site_perl RPM -> yum repository: rpm spec, rpm spec --fix, rpm build",
		rpmSpecCmd(a), rpmBuildCmd(a))
}

func rpmSpecCmd(a *app) *cobra.Command {
	var packager, out, fix string
	c := &cobra.Command{
		Use:   `spec TARBALL [--packager "Name <mail>"] [-o FILE] | spec --fix FILE.spec`,
		Short: "write a site_perl spec for a CPAN tarball, or repair an existing spec",
		RunE: func(c *cobra.Command, pos []string) error {
			if fix != "" {
				if len(pos) != 0 {
					return usageError{"--fix takes the spec file only, no tarball"}
				}
				return fixSpecFile(a, fix)
			}
			if len(pos) != 1 {
				return usageError{"want one CPAN tarball, e.g. netkick rpm spec HTML-Laundry-0.0103.tar.gz"}
			}
			d, err := rpmbuild.OpenDist(pos[0])
			if err != nil {
				return err
			}
			_, spec, err := rpmbuild.GenerateSpec(d, packager, time.Now())
			if err != nil {
				return err
			}
			if out == "" {
				_, err := fmt.Fprint(a.stdout, spec)
				return err
			}
			if err := writeFileAtomic(out, []byte(spec), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "wrote %s\n", out)
			return nil
		},
	}
	c.Flags().StringVar(&packager, "packager", "", `packager for the %changelog entry, "Name <mail>"`)
	c.Flags().StringVarP(&out, "output", "o", "", "write the spec to FILE instead of standard output")
	c.Flags().StringVar(&fix, "fix", "", "repair an existing spec in place (vendor -> site, no man pages) and print the diff")
	return c
}

// fixSpecFile applies rpmbuild.FixSpec to a file in place, printing the
// unified diff on stdout and the list of changes on stderr.
func fixSpecFile(a *app, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	fixed, fixes := rpmbuild.FixSpec(string(b))
	if len(fixes) == 0 {
		fmt.Fprintf(a.stderr, "%s already installs into site_perl and ships no man pages: nothing to change\n", path)
		return nil
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	if err := writeFileAtomic(path, []byte(fixed), mode); err != nil {
		return err
	}
	base := filepath.Base(path)
	fmt.Fprint(a.stdout, rpmbuild.UnifiedDiff(string(b), fixed, "a/"+base, "b/"+base))
	for _, f := range fixes {
		if f.Line > 0 {
			fmt.Fprintf(a.stderr, "%s:%d: %s\n", path, f.Line, f.What)
		} else {
			fmt.Fprintf(a.stderr, "%s: %s\n", path, f.What)
		}
	}
	return nil
}

func rpmBuildCmd(a *app) *cobra.Command {
	var o rpmBuildOptions
	c := &cobra.Command{
		Use:   `build TARBALL [--target el5|el6|el7|el8|el9 | --profile P] [--repo DIR] [--packager "Name <mail>"] [--spec FILE]`,
		Short: "build a CPAN tarball's RPM for an EL release and add it to that release's yum repository",
		Long: `Builds a pure-Perl CPAN dist for the EL release that will install it, whatever
this host is: into that release's site_perl, with what its rpm accepts (el5: MD5
file digests, gzip payload, SHA-1 repodata), into <data>/repo/cpan/<target>/,
which netkick serve publishes at /repo/cpan/<target>/ and the kickstarts of
that release use. --profile P takes P's release; without either, the newest EL
release among the inventory's profiles. XS dists are refused for a target:
build them on a host of that release with --target native --repo DIR.`,
		RunE: func(c *cobra.Command, pos []string) error {
			o.dataNamed = dataNamed(c)
			return a.rpmBuild(c.Context(), o, pos)
		},
	}
	c.Flags().StringVar(&o.repo, "repo", "", "yum repository directory to add the RPM to (default <data>/repo/cpan, which netkick serve publishes at /repo/cpan/)")
	c.Flags().StringVar(&o.packager, "packager", "", `packager for the %changelog entry, "Name <mail>"`)
	c.Flags().StringVar(&o.target, "target", "", "EL release the RPM is for: "+strings.Join(rpmbuild.TargetNames(), ", ")+", or native (this host's perl: XS dists, built on a host of the release, with --repo)")
	c.Flags().StringVar(&o.profile, "profile", "", "build for the release of this inventory profile")
	c.Flags().StringVar(&o.targetSiteLib, "target-sitelib", "", "instead of a target: install into this site lib (perl -V:installsitelib on the target hosts), pure-Perl dists only")
	c.Flags().StringVar(&o.specFile, "spec", "", "build with this spec instead of a generated one (e.g. one repaired with rpm spec --fix)")
	return c
}

// rpmBuildOptions are rpm build's flags.
type rpmBuildOptions struct {
	repo, packager, targetSiteLib, specFile string
	target, profile                         string
	dataNamed                               bool // --data or NETKICK_DATA given
}

func (a *app) rpmBuild(ctx context.Context, o rpmBuildOptions, pos []string) error {
	if len(pos) != 1 {
		return usageError{"want one CPAN tarball, e.g. netkick rpm build HTML-Laundry-0.0103.tar.gz --repo ./netkick-data/repo/cpan"}
	}
	var target *rpmbuild.Target
	native := o.target == "native"
	if native && o.repo == "" {
		return usageError{"--target native builds for this host's own perl: name the repository of its release with --repo <data>/repo/cpan/elN"}
	}
	if o.targetSiteLib == "" && !native {
		t, err := a.rpmTarget(ctx, o)
		if err != nil {
			return err
		}
		target = &t
	} else if o.targetSiteLib != "" && (o.target != "" || o.profile != "") {
		return usageError{"give --target/--profile or --target-sitelib, not both"}
	}
	dir := o.repo
	if dir == "" {
		if err := a.sf.needDataUnlessNamed(o.dataNamed); err != nil {
			return err
		}
		dir = filepath.Join(a.sf.data, "repo", "cpan")
		if target != nil {
			dir = filepath.Join(dir, target.Name)
		}
	}
	var spec string
	if o.specFile != "" {
		b, err := os.ReadFile(o.specFile)
		if err != nil {
			return fmt.Errorf("read spec: %w", err)
		}
		spec = string(b)
	}
	res, err := rpmbuild.Build(ctx, rpmbuild.BuildOptions{
		Tarball: pos[0], RepoDir: dir, Packager: o.packager, Spec: spec, Progress: a.stderr, TargetSiteLib: o.targetSiteLib, Target: target,
	})
	if err != nil {
		return err
	}
	for _, r := range res.RPMs {
		fmt.Fprintln(a.stdout, r)
	}
	return nil
}

// rpmTarget is the release to build for: --target, else --profile's, else
// the newest EL release among the inventory's profiles.
func (a *app) rpmTarget(ctx context.Context, o rpmBuildOptions) (rpmbuild.Target, error) {
	switch {
	case o.target != "" && o.profile != "":
		return rpmbuild.Target{}, usageError{"give --target or --profile, not both"}
	case o.target != "":
		t, err := rpmbuild.ParseTarget(o.target)
		if err != nil {
			return t, usageError{"--target: " + err.Error()}
		}
		return t, nil
	}
	b, err := a.sf.open()
	if err != nil {
		return rpmbuild.Target{}, fmt.Errorf("no --target given, and the inventory to choose one from cannot be read: %w (give --target %s)", err, strings.Join(rpmbuild.TargetNames(), "|"))
	}
	defer b.Close()
	ps, err := b.ListProfiles(ctx)
	if err != nil {
		return rpmbuild.Target{}, err
	}
	best := rpmbuild.Target{}
	for _, p := range ps {
		if o.profile != "" && p.Name != o.profile {
			continue
		}
		ks, err := kickstart.ParseOS(p.OS, p.Version)
		if err != nil {
			if o.profile != "" {
				return best, fmt.Errorf("profile %s: %w", p.Name, err)
			}
			continue
		}
		t, err := rpmbuild.TargetFor(ks.Major)
		if err != nil {
			if o.profile != "" {
				return best, fmt.Errorf("profile %s: %w", p.Name, err)
			}
			continue
		}
		if t.Major > best.Major {
			best = t
		}
	}
	if best.Name == "" {
		if o.profile != "" {
			return best, fmt.Errorf("profile %s does not exist; list them with `netkick profile list`", o.profile)
		}
		return best, fmt.Errorf("no --target given and the inventory has no EL profile to take one from; give --target %s or --profile P", strings.Join(rpmbuild.TargetNames(), "|"))
	}
	fmt.Fprintf(a.stderr, "netkick: building for %s (%s)\n", best.Name, map[bool]string{true: "profile " + o.profile, false: "newest EL release among the profiles"}[o.profile != ""])
	return best, nil
}

// writeFileAtomic writes through a temporary file in the same directory and
// renames it over path.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
