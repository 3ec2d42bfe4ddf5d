package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"

	"github.com/spf13/cobra"
)

// hostCmd is `netkick host …`: the inventory's machines.
func hostCmd(a *app) *cobra.Command {
	return group("host", "manage hosts: add, adopt, set, tag, untag, list, show, rm, build, power, reinstall",
		hostAddCmd(a), hostAdoptCmd(a), hostSetCmd(a), hostTagCmd(a, "tag"), hostTagCmd(a, "untag"),
		hostListCmd(a), hostShowCmd(a), hostRmCmd(a), hostBuildCmd(a), hostPowerCmd(a), hostReinstallCmd(a))
}

func hostAddCmd(a *app) *cobra.Command {
	var h inventory.Host
	var roles, labels, params, macs []string
	var pwStdin, replace bool
	c := &cobra.Command{
		Use:   "add MAC --hostname H [--ip IP] [--profile P] [--role R]… [--label k=v]… [--param k=v]… [--replace]",
		Short: "add a new host (an existing MAC or hostname is refused: edit with `host set`, or --replace)",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 {
				return usageError{"want exactly one MAC"}
			}
			if h.Hostname == "" {
				return usageError{"--hostname is required"}
			}
			if pwStdin {
				if h.RootPasswordHash != "" {
					return usageError{"give --root-password-hash or --root-password-stdin, not both"}
				}
				hash, err := passwordFromStdin()
				if err != nil {
					return err
				}
				h.RootPasswordHash = hash
			}
			h.MACs = append([]string{pos[0]}, macs...)
			h.Roles = roles
			var err error
			if h.Labels, err = keyValues("label", labels); err != nil {
				return err
			}
			if h.Params, err = keyValues("param", params); err != nil {
				return err
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			out, err := b.AddHost(c.Context(), &h, replace)
			if err != nil {
				return err
			}
			verb := "added"
			if replace {
				verb = "saved"
			}
			fmt.Fprintf(a.stdout, "%s %s (%s), state %s\n", verb, out.Hostname, strings.Join(out.MACs, ", "), out.State)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&h.Hostname, "hostname", "", "host name (RFC 1123), required")
	f.StringVar(&h.IP, "ip", "", "static IPv4 address (the DHCP reservation)")
	f.StringVar(&h.Profile, "profile", "", "OS profile name")
	f.StringVar(&h.Layout, "layout", "", "disk layout name")
	f.StringVar(&h.Timezone, "timezone", "", "Olson time zone, e.g. America/Toronto")
	f.StringVar(&h.Cluster, "cluster", "", "LVS cluster name")
	f.StringVar(&h.RootPasswordHash, "root-password-hash", "", "root password as a crypt(3) hash ($6$…)")
	f.BoolVar(&pwStdin, "root-password-stdin", false, "read the root password in clear from stdin and store its SHA-512 crypt hash")
	f.StringArrayVar(&roles, "role", nil, "role (repeatable)")
	f.StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	f.StringArrayVar(&params, "param", nil, "kickstart parameter key=value (repeatable)")
	f.StringArrayVar(&macs, "mac", nil, "additional MAC (repeatable)")
	f.BoolVar(&replace, "replace", false, "replace the host with this MAC whole (roles, labels, state and build token are lost)")
	return c
}

// passwordFromStdin reads one line, the clear root password, and returns its SHA-512 crypt hash.
func passwordFromStdin() (string, error) {
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read the root password from stdin: %w", err)
	}
	return inventory.HashPassword(strings.TrimRight(line, "\r\n"))
}

// hostSetCmd is `host set HOST --field …`: a partial edit; only the flags
// given change anything.
func hostSetCmd(a *app) *cobra.Command {
	var labels, params, roles []string
	var pwStdin bool
	var bf bmcFlags
	c := &cobra.Command{
		Use:               "set HOST [--hostname H] [--ip IP] [--profile P] [--layout L] [--timezone Z] [--cluster C] [--label k=v|k-]… [--param k=v|k-]… [--bmc-address A --bmc-user U --bmc-password-file F]",
		Short:             "change some fields of a host, keeping the rest (roles, state, build token)",
		ValidArgsFunction: a.completeHosts(1),
		Long: "Change only the fields named by flags. An empty value clears a field (--ip \"\").\n" +
			"--label k=v sets a label, --label k- removes it; --param likewise.\n" +
			"With --server the change carries the host's ETag: if someone changed the host\n" +
			"since it was read, the server refuses (412) and nothing is overwritten.\n" +
			"--bmc-* flags set how to reach the host's BMC for `host power` and `host reinstall`;\n" +
			"they are stored apart from the host and the password is never shown or exported.",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 1 {
				return usageError{"want exactly one HOST (MAC or hostname)"}
			}
			var ch provision.Change
			f := c.Flags()
			str := func(name string) *string {
				if !f.Changed(name) {
					return nil
				}
				v, _ := f.GetString(name)
				return &v
			}
			ch.Hostname, ch.IP, ch.Profile = str("hostname"), str("ip"), str("profile")
			ch.Layout, ch.Timezone, ch.Cluster = str("layout"), str("timezone"), str("cluster")
			ch.RootPasswordHash = str("root-password-hash")
			if f.Changed("roles") {
				r := strings.Fields(strings.ReplaceAll(strings.Join(roles, " "), ",", " "))
				ch.Roles = &r
			}
			if pwStdin {
				if ch.RootPasswordHash != nil {
					return usageError{"give --root-password-hash or --root-password-stdin, not both"}
				}
				hash, err := passwordFromStdin()
				if err != nil {
					return err
				}
				ch.RootPasswordHash = &hash
			}
			var err error
			if ch.Labels, err = provision.ParseKeyEdits("label", labels); err != nil {
				return usageError{err.Error()}
			}
			if ch.Params, err = provision.ParseKeyEdits("param", params); err != nil {
				return usageError{err.Error()}
			}
			if pwStdin && bf.pwStdin {
				return usageError{"stdin holds one password: give --root-password-stdin or --bmc-password-stdin"}
			}
			bc, bmc, err := bf.change(f, os.Stdin)
			if err != nil {
				return err
			}
			if ch.Empty() && !bmc {
				return usageError{"name at least one field to change, e.g. host set " + pos[0] + " --timezone Asia/Tokyo"}
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			if !ch.Empty() {
				h, err := b.SetHost(c.Context(), pos[0], ch)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "updated %s (%s), state %s\n", h.Hostname, h.ID(), h.State)
			}
			if bmc {
				v, err := b.SetBMC(c.Context(), pos[0], bc)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "BMC of %s: %s %s, user %q, password %s\n", v.Hostname, v.Driver, bmcAddr(v), v.User, passwordNote(v))
			}
			return nil
		},
	}
	f := c.Flags()
	f.String("hostname", "", "new host name (RFC 1123)")
	f.String("ip", "", "static IPv4 address (the DHCP reservation); \"\" clears it")
	f.String("profile", "", "OS profile name (must exist)")
	f.String("layout", "", "disk layout name (must exist); \"\" clears it")
	f.String("timezone", "", "IANA time zone, e.g. Asia/Tokyo; \"\" uses the profile's")
	f.String("cluster", "", "LVS cluster name (must exist); \"\" takes the host out")
	f.String("root-password-hash", "", "root password as a crypt(3) hash ($6$…)")
	f.BoolVar(&pwStdin, "root-password-stdin", false, "read the root password in clear from stdin and store its SHA-512 crypt hash")
	f.StringArrayVar(&labels, "label", nil, "set a label k=v, or remove it with k- (repeatable)")
	f.StringArrayVar(&params, "param", nil, "set a kickstart parameter k=v, or remove it with k- (repeatable)")
	f.StringArrayVar(&roles, "roles", nil, "replace all roles (comma-separated); use host tag or host untag to add or remove one")
	bf.register(f)
	return c
}

// hostTagCmd is `host tag` or `host untag`.
func hostTagCmd(a *app, sub string) *cobra.Command {
	short := "give a host roles"
	if sub == "untag" {
		short = "take roles from a host"
	}
	return &cobra.Command{
		Use:               sub + " HOST ROLE…",
		Short:             short,
		ValidArgsFunction: a.completeHosts(1),
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) < 2 {
				return usageError{"want HOST and at least one ROLE"}
			}
			rc := httpd.RolesChange{Add: pos[1:]}
			if sub == "untag" {
				rc = httpd.RolesChange{Remove: pos[1:]}
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			h, err := b.ChangeRoles(c.Context(), pos[0], rc)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s roles: %s\n", h.Hostname, orNone(h.Roles))
			return nil
		},
	}
}

func hostListCmd(a *app) *cobra.Command {
	var state, role, cluster, output string
	c := &cobra.Command{
		Use:   "list [--state S] [--role R] [--cluster C] [-o json|yaml]",
		Short: "list hosts",
		RunE: a.listRunE("host list", &output, func(ctx context.Context, b backend) error {
			hosts, err := b.ListHosts(ctx, inventory.HostFilter{State: inventory.State(state), Role: role, Cluster: cluster})
			if err != nil {
				return err
			}
			return a.emit(output, hosts, func() error {
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "HOSTNAME\tMAC\tIP\tPROFILE\tSTATE\tROLES")
				for _, h := range hosts {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Hostname, h.ID(), dash(h.IP), dash(h.Profile), h.State, orNone(h.Roles))
				}
				return tw.Flush()
			})
		}),
	}
	addOutputFlag(c, &output, outTable)
	c.Flags().StringVar(&state, "state", "", "only hosts in this state ("+statesList()+")")
	c.Flags().StringVar(&role, "role", "", "only hosts with this role")
	c.Flags().StringVar(&cluster, "cluster", "", "only hosts in this LVS cluster")
	return c
}

// hostView is host show's JSON and YAML document: the host and its timeline.
type hostView struct {
	inventory.Host `yaml:",inline"`
	Events         []inventory.Event `json:"events" yaml:"events"`
	// BMC is how the host's power is driven (never the password).
	BMC *provision.BMCView `json:"bmc,omitempty" yaml:"bmc,omitempty"`
}

func hostShowCmd(a *app) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:               "show HOST [-o json|yaml]",
		Short:             "show a host and its timeline",
		ValidArgsFunction: a.completeHosts(1),
		RunE: func(c *cobra.Command, pos []string) error {
			if err := validOutput(output, true); err != nil {
				return err
			}
			key, b, err := a.oneHost(pos)
			if err != nil {
				return err
			}
			defer b.Close()
			h, err := b.GetHost(c.Context(), key)
			if err != nil {
				return err
			}
			ev, err := b.Events(c.Context(), key)
			if err != nil {
				return err
			}
			if ev == nil {
				ev = []inventory.Event{}
			}
			bmc, _ := b.GetBMC(c.Context(), key) // none set: not shown
			if bmc != nil && bmc.Address == "" && bmc.Host == "" {
				bmc = nil
			}
			return a.emit(output, hostView{Host: *h, Events: ev, BMC: bmc}, func() error {
				if bmc != nil {
					st := "power state not read yet"
					if bmc.PowerState != "" {
						st = "power " + bmc.PowerState + " at " + bmc.PowerChecked.Local().Format(time.DateTime)
					}
					fmt.Fprintf(a.stdout, "bmc:       %s %s, user %q, password %s; %s\n", bmc.Driver, bmcAddr(bmc), bmc.User, passwordNote(bmc), st)
				}
				printHost(a, h, ev)
				if h.Facts != nil {
					printFacts(a, h.Facts)
				}
				return nil
			})
		},
	}
	addOutputFlag(c, &output, outTable)
	return c
}

func hostRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "rm HOST",
		Short:             "remove a host",
		ValidArgsFunction: a.completeHosts(1),
		RunE: func(c *cobra.Command, pos []string) error {
			key, b, err := a.oneHost(pos)
			if err != nil {
				return err
			}
			defer b.Close()
			if err := b.DeleteHost(c.Context(), key); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "removed %s\n", key)
			return nil
		},
	}
}

func hostBuildCmd(a *app) *cobra.Command {
	var ttl time.Duration
	var cancel bool
	c := &cobra.Command{
		Use:               "build HOST…",
		Short:             "put hosts in build mode: their next network boot installs, once",
		ValidArgsFunction: a.completeHosts(-1),
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) == 0 {
				return usageError{"want at least one HOST (MAC or hostname)"}
			}
			b, err := a.sf.open()
			if err != nil {
				return err
			}
			defer b.Close()
			for _, key := range pos {
				if cancel {
					h, err := b.CancelBuild(c.Context(), key)
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "%s: build cancelled, token burnt; it is %s again.\n", h.Hostname, h.State)
					continue
				}
				br, err := b.Build(c.Context(), key, ttl)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s is in build mode until %s: its next network boot installs, once.\nkickstart: %s\n",
					br.Host.Hostname, br.Expires.Local().Format(time.DateTime), br.KickstartURL)
			}
			return nil
		},
	}
	c.Flags().DurationVar(&ttl, "ttl", 0, "how long the build token stays valid (default: the server's, 6h)")
	c.Flags().BoolVar(&cancel, "cancel", false, "cancel the build instead: back to installed if it was, else ready; the token is burnt")
	return c
}

// oneHost checks for the single HOST argument, then opens the backend.
func (a *app) oneHost(pos []string) (string, backend, error) {
	if len(pos) != 1 {
		return "", nil, usageError{"want exactly one HOST (MAC or hostname)"}
	}
	b, err := a.sf.open()
	return pos[0], b, err
}

func printHost(a *app, h *inventory.Host, ev []inventory.Event) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	// Every value may have come from a machine (DHCP, reports): escaped.
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, inventory.EscapeControl(v, false)) }
	row("hostname", h.Hostname)
	row("macs", strings.Join(h.MACs, ", "))
	row("ip", dash(h.IP))
	row("state", string(h.State))
	row("profile", dash(h.Profile))
	row("layout", dash(h.Layout))
	row("roles", orNone(h.Roles))
	row("cluster", dash(h.Cluster))
	row("timezone", dash(h.Timezone))
	for _, kv := range sortedKV(h.Labels) {
		row("label", kv)
	}
	for _, kv := range sortedKV(h.Params) {
		row("param", kv)
	}
	if h.RootPasswordHash != "" {
		row("root password", "set (crypt hash)")
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "\ntimeline (%d events):\n", len(ev))
	tw = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, e := range ev {
		// Install logs keep their lines, indented under the event.
		detail := strings.ReplaceAll(inventory.EscapeControl(e.Detail, true), "\n", "\n      ")
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), inventory.EscapeControl(e.Kind, false), detail)
	}
	tw.Flush()
}

func keyValues(kind string, in []string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usageError{fmt.Sprintf("--%s %q: want key=value", kind, kv)}
		}
		out[k] = v
	}
	return out, nil
}

func sortedKV(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sortStrings(out)
	return out
}

func statesList() string {
	var s []string
	for _, x := range inventory.States() {
		s = append(s, string(x))
	}
	return strings.Join(s, ", ")
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "-"
	}
	return strings.Join(ss, " ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
