package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/provision"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// bmcFlags are host set's BMC flags.
type bmcFlags struct {
	pwStdin bool
}

func (bf *bmcFlags) register(f *pflag.FlagSet) {
	f.String("bmc-address", "", "BMC address (IP or host name) for power control")
	f.Int("bmc-port", 0, "BMC UDP port (default 623)")
	f.String("bmc-user", "", "BMC user name")
	f.String("bmc-password-file", "", "absolute path of a file whose first line is the BMC password, read at each use (\"\" clears)")
	f.BoolVar(&bf.pwStdin, "bmc-password-stdin", false, "read the BMC password from stdin and store it (kept apart from the host, never shown)")
	f.String("bmc-driver", "", "BMC driver: ipmi (IPMI v2.0 lanplus, the default)")
}

// change reads the BMC flags given; ok is false when none was.
func (bf *bmcFlags) change(f *pflag.FlagSet, stdin io.Reader) (c provision.BMCChange, ok bool, err error) {
	str := func(name string) *string {
		if !f.Changed(name) {
			return nil
		}
		v, _ := f.GetString(name)
		return &v
	}
	c.Address, c.User, c.PasswordFile, c.Driver = str("bmc-address"), str("bmc-user"), str("bmc-password-file"), str("bmc-driver")
	if f.Changed("bmc-port") {
		p, _ := f.GetInt("bmc-port")
		c.Port = &p
	}
	if bf.pwStdin {
		if c.PasswordFile != nil {
			return c, false, usageError{"give --bmc-password-file or --bmc-password-stdin, not both"}
		}
		raw, err := io.ReadAll(io.LimitReader(stdin, 4096))
		if err != nil {
			return c, false, fmt.Errorf("read the BMC password from stdin: %w", err)
		}
		pw, _, _ := strings.Cut(string(raw), "\n")
		pw = strings.TrimRight(pw, "\r")
		if pw == "" {
			return c, false, usageError{"--bmc-password-stdin: stdin held no password"}
		}
		c.Password = &pw
	}
	return c, !c.Empty(), nil
}

// hostPowerCmd is `host power HOST… status|on|off|cycle|soft`.
func hostPowerCmd(a *app) *cobra.Command {
	var all bool
	var parallel int
	var format string
	c := &cobra.Command{
		Use:   "power HOST… status|on|off|cycle|soft | power status --all",
		Short: "read or change hosts' power through their BMCs (IPMI)",
		Long: "The last word is the action: status reads (and records) the chassis power state,\n" +
			"on, off and cycle act at once, soft asks the operating system to shut down (ACPI).\n" +
			"Several hosts are driven --parallel at once; `status --all` reads every host that\n" +
			"has BMC settings. Each action goes on the host's timeline.",
		ValidArgsFunction: a.completeHosts(-1),
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) == 0 {
				return usageError{"want HOST… and an action: status, on, off, cycle or soft"}
			}
			action := pos[len(pos)-1]
			keys := pos[:len(pos)-1]
			switch action {
			case "status", "on", "off", "cycle", "soft":
			default:
				return usageError{fmt.Sprintf("action %q: want status, on, off, cycle or soft as the last word", action)}
			}
			if all != (len(keys) == 0) {
				if all {
					return usageError{"--all reads every host's BMC: name no HOST"}
				}
				return usageError{"name at least one HOST before the action, or use status --all"}
			}
			if all && action != "status" {
				return usageError{"--all goes only with status"}
			}
			if err := validOutput(format, true); err != nil {
				return err
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			var res []provision.PowerResult
			if all {
				if res, err = b.PowerStatusAll(c.Context(), parallel); err != nil {
					return err
				}
			} else {
				res = many(c.Context(), keys, parallel, func(ctx context.Context, k string) (*provision.PowerResult, error) {
					return b.Power(ctx, k, action)
				})
			}
			return a.powerSummary(format, action, res)
		},
	}
	c.Flags().BoolVar(&all, "all", false, "status of every host that has BMC settings")
	c.Flags().IntVar(&parallel, "parallel", 4, "BMCs driven at once")
	addOutputFlag(c, &format, outTable)
	return c
}

// hostReinstallCmd is `host reinstall HOST…`.
func hostReinstallCmd(a *app) *cobra.Command {
	var parallel int
	var ttl time.Duration
	var format string
	c := &cobra.Command{
		Use:   "reinstall HOST… [--parallel N]",
		Short: "reinstall hosts now: build mode, next boot PXE once, power cycle (or on) through the BMC",
		Long: "For each host: build mode (a fresh one-time token), then over IPMI: read the power\n" +
			"state, set the next boot to PXE once (EFI for UEFI hosts) right before the power\n" +
			"action, then power cycle, or power on when the chassis is off. A BMC that refuses\n" +
			"the boot device is noted and the reinstall goes on: the machine must then boot the\n" +
			"network first. Each step is on the host's timeline; a summary says which hosts\n" +
			"succeeded. Exit status 1 when any failed.",
		ValidArgsFunction: a.completeHosts(-1),
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) == 0 {
				return usageError{"want at least one HOST (MAC or hostname)"}
			}
			if err := validOutput(format, true); err != nil {
				return err
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			res := many(c.Context(), pos, parallel, func(ctx context.Context, k string) (*provision.PowerResult, error) {
				return b.Reinstall(ctx, k, ttl)
			})
			return a.powerSummary(format, "reinstall", res)
		},
	}
	c.Flags().IntVar(&parallel, "parallel", 4, "hosts reinstalled at once")
	c.Flags().DurationVar(&ttl, "ttl", 0, "how long the build token stays valid (default: the server's, 6h)")
	addOutputFlag(c, &format, outTable)
	return c
}

// many runs op on each key, at most parallel at once, results in key order.
func many(ctx context.Context, keys []string, parallel int, op func(ctx context.Context, key string) (*provision.PowerResult, error)) []provision.PowerResult {
	if parallel < 1 {
		parallel = 1
	}
	out := make([]provision.PowerResult, len(keys))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, err := op(ctx, k)
			if r == nil {
				r = &provision.PowerResult{Host: k}
			}
			if err != nil {
				r.Error = err.Error()
				if h := hintOf(err); h != "" {
					r.Error += " (" + h + ")"
				}
			}
			out[i] = *r
		}()
	}
	wg.Wait()
	return out
}

func hintOf(err error) string {
	var ae *apiErr
	if errors.As(err, &ae) {
		return ae.hint
	}
	return provision.HintOf(err)
}

// powerSummary prints one line per host and a count; any failure fails the command.
func (a *app) powerSummary(format, action string, res []provision.PowerResult) error {
	failed := 0
	for _, r := range res {
		if r.Error != "" {
			failed++
		}
	}
	err := a.emit(format, res, func() error {
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HOST\tRESULT\tDETAIL")
		for _, r := range res {
			name := r.Hostname
			if name == "" {
				name = r.Host
			}
			switch {
			case r.Error != "":
				fmt.Fprintf(tw, "%s\tfailed\t%s\n", name, r.Error)
			case action == "status":
				fmt.Fprintf(tw, "%s\t%s\t\n", name, r.State)
			default:
				fmt.Fprintf(tw, "%s\tok\t%s\n", name, strings.Join(r.Steps, "; "))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s: %d of %d succeeded\n", action, len(res)-failed, len(res))
		return nil
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%s failed for %d of %d hosts", action, failed, len(res))
	}
	return nil
}

func (l *local) GetBMC(ctx context.Context, key string) (*provision.BMCView, error) {
	return hinted2(l.p.GetBMC(ctx, key))
}

func (l *local) SetBMC(ctx context.Context, key string, c provision.BMCChange) (*provision.BMCView, error) {
	return hinted2(l.p.SetBMC(ctx, l.actor, key, c))
}

func (l *local) Power(ctx context.Context, key, action string) (*provision.PowerResult, error) {
	return hinted2(l.p.Power(ctx, l.actor, key, action))
}

func (l *local) Reinstall(ctx context.Context, key string, ttl time.Duration) (*provision.PowerResult, error) {
	return hinted2(l.p.Reinstall(ctx, l.actor, key, ttl))
}

func (l *local) PowerStatusAll(ctx context.Context, parallel int) ([]provision.PowerResult, error) {
	return l.p.PowerStatusAll(ctx, l.actor, parallel)
}

func (r *remote) GetBMC(ctx context.Context, key string) (*provision.BMCView, error) {
	var v provision.BMCView
	return &v, r.do(ctx, "GET", "/api/v1/hosts/"+esc(key)+"/bmc", nil, &v)
}

func (r *remote) SetBMC(ctx context.Context, key string, c provision.BMCChange) (*provision.BMCView, error) {
	var v provision.BMCView
	return &v, r.do(ctx, "PATCH", "/api/v1/hosts/"+esc(key)+"/bmc", c, &v)
}

func (r *remote) Power(ctx context.Context, key, action string) (*provision.PowerResult, error) {
	var res provision.PowerResult
	if err := r.do(ctx, "POST", "/api/v1/hosts/"+esc(key)+"/power", httpd.PowerRequest{Action: action}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (r *remote) Reinstall(ctx context.Context, key string, ttl time.Duration) (*provision.PowerResult, error) {
	q := ""
	if ttl > 0 {
		q = "?ttl=" + url.QueryEscape(ttl.String())
	}
	var res provision.PowerResult
	if err := r.do(ctx, "POST", "/api/v1/hosts/"+esc(key)+"/reinstall"+q, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (r *remote) PowerStatusAll(ctx context.Context, parallel int) ([]provision.PowerResult, error) {
	var res []provision.PowerResult
	return res, r.do(ctx, "POST", fmt.Sprintf("/api/v1/power/status?parallel=%d", parallel), nil, &res)
}

func bmcAddr(v *provision.BMCView) string {
	if v.Port != 0 {
		return fmt.Sprintf("%s port %d", v.Address, v.Port)
	}
	return v.Address
}

func passwordNote(v *provision.BMCView) string {
	switch {
	case v.PasswordFile != "":
		return "read from " + v.PasswordFile
	case v.PasswordSet:
		return "set"
	}
	return "not set"
}
