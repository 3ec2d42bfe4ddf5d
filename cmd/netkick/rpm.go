package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

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
		Use:   `build TARBALL [--repo DIR] [--packager "Name <mail>"] [--spec FILE] [--target-sitelib DIR]`,
		Short: "build a CPAN tarball's RPM and add it to a yum repository",
		RunE: func(c *cobra.Command, pos []string) error {
			o.dataNamed = dataNamed(c)
			return a.rpmBuild(c.Context(), o, pos)
		},
	}
	c.Flags().StringVar(&o.repo, "repo", "", "yum repository directory to add the RPM to (default <data>/repo/cpan, which netkick serve publishes at /repo/cpan/)")
	c.Flags().StringVar(&o.packager, "packager", "", `packager for the %changelog entry, "Name <mail>"`)
	c.Flags().StringVar(&o.targetSiteLib, "target-sitelib", "", "pure-Perl dists: install into this site lib (perl -V:installsitelib on the target hosts, e.g. /usr/lib/perl5/site_perl/5.8.8) instead of the build host's")
	c.Flags().StringVar(&o.specFile, "spec", "", "build with this spec instead of a generated one (e.g. one repaired with rpm spec --fix)")
	return c
}

// rpmBuildOptions are rpm build's flags.
type rpmBuildOptions struct {
	repo, packager, targetSiteLib, specFile string
	dataNamed                               bool // --data or NETKICK_DATA given
}

func (a *app) rpmBuild(ctx context.Context, o rpmBuildOptions, pos []string) error {
	if len(pos) != 1 {
		return usageError{"want one CPAN tarball, e.g. netkick rpm build HTML-Laundry-0.0103.tar.gz --repo ./netkick-data/repo/cpan"}
	}
	dir := o.repo
	if dir == "" {
		if err := a.sf.needDataUnlessNamed(o.dataNamed); err != nil {
			return err
		}
		dir = filepath.Join(a.sf.data, "repo", "cpan")
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
		Tarball: pos[0], RepoDir: dir, Packager: o.packager, Spec: spec, Progress: a.stderr, TargetSiteLib: o.targetSiteLib,
	})
	if err != nil {
		return err
	}
	for _, r := range res.RPMs {
		fmt.Fprintln(a.stdout, r)
	}
	return nil
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
