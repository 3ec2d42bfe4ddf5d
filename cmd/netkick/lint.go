package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/kickstart/lint"

	"github.com/spf13/cobra"
)

// lintCmd is `netkick lint FILE.ks [--os NAME-VERSION]` or `netkick lint --host HOST`.
func lintCmd(a *app) *cobra.Command {
	var host, osName string
	c := &cobra.Command{
		Use:   "lint FILE.ks [--os NAME-VERSION] | --host HOST",
		Short: "check a kickstart file (- reads stdin) for a release, or what HOST would be served",
		Long: `Checks a kickstart: sections, %include, required commands, and with --os (or
--host, which takes the host's profile) what that release refuses or deprecates.
When pykickstart's ksvalidator is on PATH (or NETKICK_KSVALIDATOR names it),
it runs too, with that release's syntax, and its findings are reported with
line numbers.`,
		RunE: func(c *cobra.Command, pos []string) error {
			return a.lint(c.Context(), host, osName, pos)
		},
	}
	c.Flags().StringVar(&host, "host", "", "lint the kickstart this host would be served (for its profile's release)")
	c.Flags().StringVar(&osName, "os", "", "the release the kickstart is for, e.g. centos-5.3, rocky-9.4")
	_ = c.RegisterFlagCompletionFunc("host", func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return a.hostNames(c.Context(), toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

// parseRelease reads --os NAME-VERSION (centos-5.3, rocky-9.4).
func parseRelease(s string) (kickstart.OS, error) {
	i := strings.LastIndex(s, "-")
	if i <= 0 || i == len(s)-1 {
		return kickstart.OS{}, usageError{fmt.Sprintf("--os %q: want NAME-VERSION, e.g. centos-5.3 or rocky-9.4", s)}
	}
	o, err := kickstart.ParseOS(s[:i], s[i+1:])
	if err != nil {
		return o, usageError{fmt.Sprintf("--os %q: %v", s, err)}
	}
	return o, nil
}

// hostRelease is the release of a host's profile.
func hostRelease(ctx context.Context, b backend, host string) (kickstart.OS, error) {
	h, err := b.GetHost(ctx, host)
	if err != nil {
		return kickstart.OS{}, err
	}
	ps, err := b.ListProfiles(ctx)
	if err != nil {
		return kickstart.OS{}, err
	}
	for _, p := range ps {
		if p.Name == h.Profile {
			return kickstart.ParseOS(p.OS, p.Version)
		}
	}
	return kickstart.OS{}, fmt.Errorf("host %s: profile %q not found", h.Hostname, h.Profile)
}

func (a *app) lint(ctx context.Context, host, osName string, pos []string) error {
	var err error
	var in []byte
	var o kickstart.OS
	if osName != "" {
		if o, err = parseRelease(osName); err != nil {
			return err
		}
	}
	name := ""
	switch {
	case host != "" && len(pos) == 0:
		b, err := a.sf.open()
		if err != nil {
			return err
		}
		defer b.Close()
		if in, err = b.Render(ctx, "kickstart", host); err != nil {
			return err
		}
		if osName == "" {
			if o, err = hostRelease(ctx, b, host); err != nil {
				return err
			}
		}
		name = "kickstart of " + host
	case host == "" && len(pos) == 1:
		name = pos[0]
		if pos[0] == "-" {
			in, err = io.ReadAll(os.Stdin)
		} else {
			in, err = os.ReadFile(pos[0])
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", pos[0], err)
		}
	default:
		return usageError{"want FILE.ks or --host HOST"}
	}
	findings, ran, err := lintKickstart(ctx, in, o)
	if err != nil {
		return err
	}
	for _, f := range findings {
		fmt.Fprintf(a.stdout, "%s: %s\n", name, f)
	}
	if n := lint.Errors(findings); n > 0 {
		return fmt.Errorf("%s: %d error(s)", name, n)
	}
	how := "netkick's checks"
	switch {
	case o.Major == 0:
		how += ", no release given (--os NAME-VERSION checks that release's syntax)"
	case ran:
		how += " and ksvalidator -v " + o.Validator
	default:
		how += " for " + o.Validator + " (ksvalidator not on PATH)"
	}
	fmt.Fprintf(a.stdout, "%s: ok (%d warning(s); %s)\n", name, len(findings), how)
	return nil
}

// lintKickstart runs netkick's checks for release o (zero: release-neutral
// checks only) and, when o is known and ksvalidator is found, the validator
// too; ran says whether it did.
func lintKickstart(ctx context.Context, ks []byte, o kickstart.OS) (fs []lint.Finding, ran bool, err error) {
	fs, err = lint.CheckRelease(bytes.NewReader(ks), lint.Release{Major: o.Major})
	if err != nil || o.Validator == "" {
		return fs, false, err
	}
	v, err := lint.FindValidator(os.Getenv)
	if errors.Is(err, lint.ErrNoValidator) {
		return fs, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	dir, err := os.MkdirTemp("", "netkick-lint-")
	if err != nil {
		return nil, false, err
	}
	defer os.RemoveAll(dir)
	f := filepath.Join(dir, "ks.cfg")
	if err := os.WriteFile(f, ks, 0o600); err != nil {
		return nil, false, err
	}
	vf, err := v.Check(ctx, o.Validator, f)
	if err != nil {
		return nil, false, err
	}
	return append(fs, vf...), true, nil
}
